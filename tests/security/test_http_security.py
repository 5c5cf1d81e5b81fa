"""The production settings mode: `check --deploy` is clean, the security headers are sent,
missing secrets refuse to start. (The sign-in guard: tests/security/test_trust_login_guard.py.)"""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

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
    # The one silenced check is axes.W006, on purpose (config/settings.py, AXES_LOCKOUT_PARAMETERS).
    assert "System check identified no issues (1 silenced)." in result.stdout


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
    # As deployed: the static files collected first (hashed names the pages refer to).
    env = production_env(tmp_path, STATIC_ROOT=str(tmp_path / "static"))
    collected = run(["manage.py", "collectstatic", "--noinput", "--verbosity", "0"], env)
    assert collected.returncode == 0, collected.stderr
    result = run(["-c", HEADERS_SCRIPT], env)
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
