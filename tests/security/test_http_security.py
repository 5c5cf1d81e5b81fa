"""Sign-in throttling, and the production settings mode: `check --deploy` is clean, the
security headers are sent, missing secrets refuse to start."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.api.conftest import client_for
from tests.factories import UserFactory

ROOT = Path(settings.BASE_DIR)
FIELD_KEYS = "k1:" + base64.b64encode(b"p" * 32).decode()


def production_env(tmp_path, **overrides) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests lift Django's async guard for the whole
        # session (tests/web/conftest.py); a production process never has it.
        if k
        not in {
            "DATABASE_URL",
            "DEBUG",
            "CAREFLOW_FIELD_KEYS",
            "ALLOWED_HOSTS",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(
        {
            "CAREFLOW_ENV": "production",
            "SECRET_KEY": "x7#Qp2!vR9@mL4$wZ8^kT1&nB6*cY3(hJ5)gF0_dS-uE+aW=oI",
            "ALLOWED_HOSTS": "careflow.example.org",
            "CAREFLOW_FIELD_KEYS": FIELD_KEYS,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_nothing_in_production_mode(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path)
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_in_development_mode(tmp_path):
    env = production_env(tmp_path, CAREFLOW_ENV="development", DEBUG="false")
    del env["CAREFLOW_FIELD_KEYS"]

    result = run(["manage.py", "check", "--deploy"], env)

    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W012" in result.stderr  # session cookie not secure
    assert "careflow.W001" in result.stderr  # the public development field key


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "CAREFLOW_FIELD_KEYS"])
def test_production_mode_refuses_to_start_without_its_secrets(tmp_path, missing):
    result = run(["manage.py", "check"], production_env(tmp_path, **{missing: None}))

    assert result.returncode != 0
    assert f"{missing} must be set when CAREFLOW_ENV=production" in result.stderr


def test_production_mode_refuses_the_development_field_key(tmp_path):
    env = production_env(tmp_path, CAREFLOW_FIELD_KEYS=settings.DEV_FIELD_KEYS)

    result = run(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "the development field key may not be used in production" in result.stderr


HEADERS_SCRIPT = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="careflow.example.org")
out = {}
for path in ["/api/v1/docs", "/admin/login/"]:
    r = client.get(path, secure=True)
    out[path] = {"status": r.status_code, "headers": dict(r.headers),
                 "cookies": {k: dict(v) for k, v in r.cookies.items()}}
plain = client.get("/admin/login/")
out["http"] = {"status": plain.status_code, "location": plain.headers.get("Location")}
from django.conf import settings
out["settings"] = {name: getattr(settings, name) for name in [
    "DEBUG", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT"]}
print(json.dumps(out))
"""


def test_production_mode_sends_the_security_headers(tmp_path):
    result = run(["-c", HEADERS_SCRIPT], production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    pages = json.loads(result.stdout)

    for path in ["/api/v1/docs", "/admin/login/"]:
        headers = pages[path]["headers"]
        assert pages[path]["status"] == 200
        assert (
            headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        )
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Content-Security-Policy"].startswith(
            "default-src 'self'; script-src 'self'"
        )
        assert "Content-Security-Policy-Report-Only" not in headers
    csrf = pages["/admin/login/"]["cookies"]["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["httponly"] == ""  # the pages' scripts read it to send X-CSRFToken
    assert csrf["samesite"] == "Lax"
    assert pages["http"] == {"status": 301, "location": "https://careflow.example.org/admin/login/"}
    assert pages["settings"] == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
    }


def test_development_mode_reports_csp_violations_without_enforcing(client):
    response = client.get("/api/v1/docs")

    assert response.headers["Content-Security-Policy-Report-Only"].startswith("default-src")
    assert "Content-Security-Policy" not in response.headers


# --- sign-in throttling --------------------------------------------------------------------


@pytest.fixture
def nurse_account(db):
    user = UserFactory(username="east_nurse")
    user.set_password("right-password-123")
    user.save()
    return user


def token_attempt(username: str, password: str = "wrong"):
    return client_for(None).post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json"
    )


def test_token_sign_in_is_locked_per_username_after_five_attempts(nurse_account):
    statuses = [token_attempt("east_nurse").status_code for _ in range(5)]

    locked = token_attempt("east_nurse", "right-password-123")

    assert statuses == [400] * 5
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    # Another account is not locked by these attempts.
    assert token_attempt("someone_else").status_code == 400


@pytest.fixture
def ten_per_address(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_ip": "10/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def test_the_default_rates(settings):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "login_ip": "100/min",
        "login_username": "5/min",
        "feedback_receipt": "20/min",
    }


def test_token_sign_in_is_throttled_per_address_across_usernames(db, ten_per_address):
    statuses = [token_attempt(f"guess{n}").status_code for n in range(10)]

    over = token_attempt("guess10")

    assert statuses == [400] * 10
    assert over.status_code == 429
    assert int(over.headers["Retry-After"]) >= 1


def test_a_forged_forwarded_for_header_does_not_dodge_the_address_throttle(db, ten_per_address):
    client = client_for(None)
    statuses = [
        client.post(
            "/api/v1/auth/token",
            {"username": f"guess{n}", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        ).status_code
        for n in range(11)
    ]

    assert statuses == [400] * 10 + [429]


def test_a_correct_password_within_the_rate_gets_a_token(nurse_account):
    token_attempt("east_nurse")

    response = token_attempt("east_nurse", "right-password-123")

    assert response.status_code == 200
    assert len(response.json()["token"]) == 40


def test_session_sign_in_is_locked_per_username(client, nurse_account):
    def attempt(password="wrong"):
        return client.post(
            "/admin/login/", {"username": "east_nurse", "password": password, "next": "/admin/"}
        )

    statuses = [attempt().status_code for _ in range(5)]
    locked = attempt("right-password-123")

    assert statuses == [200] * 5  # the form again, with an error
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) >= 1
    assert locked.json()["detail"].startswith("too many sign-in attempts")
