"""Issue 16 item 12: API tokens are kept as digests, expire, can be revoked, are shown once.

The attack: a database dump (a database/backup reader) held every API token in plaintext
(authtoken_token.key); sending one opened the API with decrypted ID numbers and bank
accounts, and it never expired. Now (django-rest-knox) the row holds a SHA-512 digest and the
first 15 characters; neither works as a token; a token stops working at its expiry, or when
signed out.
"""

import datetime as dt
import hashlib
import io

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-123"
TTL = dt.timedelta(hours=10)
T0 = dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC)


def tokens():
    """The token rows (knox's model; looked up when used, so this module also runs, and
    fails, on the code before the change)."""
    return apps.get_model("knox", "AuthToken").objects


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def nurse(org):
    """An employee of tests/conftest.py's org, with a password."""
    user = org.nurse.user
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(username: str, password: str = PASSWORD):
    return APIClient().post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json"
    )


def me(token: str):
    return APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}")


def post(path: str, token: str):
    return APIClient().post(path, HTTP_AUTHORIZATION=f"Token {token}")


def test_the_token_settings():
    assert settings.REST_KNOX["TOKEN_TTL"] == TTL
    assert settings.REST_KNOX["AUTH_HEADER_PREFIX"] == "Token"
    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"][0] == (
        "api.authentication.TokenAuthentication"
    )


# --- a database reader ---------------------------------------------------------------------


def test_the_database_row_holds_no_usable_token(nurse):
    token = sign_in(nurse.username).json()["token"]

    row = tokens().values().get()

    assert token not in [str(value) for value in row.values()]
    assert row["digest"] == hashlib.sha512(token.encode()).hexdigest()
    assert me(row["digest"]).status_code == 401
    assert me(row["token_key"]).status_code == 401
    assert me(token).status_code == 200


def test_the_old_plaintext_token_table_is_gone():
    assert "authtoken_token" not in connection.introspection.table_names()


# --- expiry --------------------------------------------------------------------------------


def test_a_token_works_until_its_expiry_and_not_after(nurse, time_machine):
    time_machine.move_to(T0, tick=False)
    issued = sign_in(nurse.username).json()

    time_machine.move_to(T0 + TTL - dt.timedelta(seconds=1), tick=False)
    before = me(issued["token"])
    time_machine.move_to(T0 + TTL + dt.timedelta(seconds=1), tick=False)
    after = me(issued["token"])

    assert dt.datetime.fromisoformat(issued["expiry"]) == T0 + TTL
    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json() == {"detail": "认证令牌无效。"}  # "Invalid token.", in the default zh-hans
    assert tokens().count() == 0  # the expired row is deleted when presented


# --- revocation ----------------------------------------------------------------------------


def test_signing_out_revokes_that_token_only(nurse):
    first = sign_in(nurse.username).json()["token"]
    second = sign_in(nurse.username).json()["token"]

    response = post("/api/v1/auth/logout", first)

    assert response.status_code == 204
    assert me(first).status_code == 401
    assert me(second).status_code == 200


def test_signing_out_everywhere_revokes_every_token_of_the_user(nurse, org):
    first = sign_in(nurse.username).json()["token"]
    second = sign_in(nurse.username).json()["token"]
    other_user = tokens().create(user=org.head_nurse.user)[1]

    response = post("/api/v1/auth/logout-all", first)

    assert response.status_code == 204
    assert me(first).status_code == 401
    assert me(second).status_code == 401
    assert me(other_user).status_code == 200


def test_a_revoked_token_cannot_sign_out_again(nurse):
    token = sign_in(nurse.username).json()["token"]
    post("/api/v1/auth/logout", token)

    assert post("/api/v1/auth/logout", token).status_code == 401


# --- shown once ----------------------------------------------------------------------------


def test_a_token_is_shown_once_when_issued_and_never_again(nurse):
    first = sign_in(nurse.username)
    second = sign_in(nurse.username)

    assert first.status_code == 200
    assert set(first.json()) == {"token", "expiry"}
    assert first.json()["token"] != second.json()["token"]
    # Nothing reads a token back: the endpoint only issues new ones.
    assert APIClient().get("/api/v1/auth/token").status_code == 405
    assert tokens().filter(user=nurse).count() == 2


def test_issue_token_prints_a_token_once_for_an_integration_account(time_machine):
    time_machine.move_to(T0, tick=False)
    UserFactory(username="appraisal_system")
    out = io.StringIO()

    call_command(
        "issue_token", "appraisal_system", "--days", "30", stdout=out, stderr=io.StringIO()
    )

    token = out.getvalue().strip()
    assert me(token).status_code == 200
    assert tokens().get().expiry == T0 + dt.timedelta(days=30)


def test_issue_token_refuses_a_token_without_a_bounded_life():
    UserFactory(username="appraisal_system")

    with pytest.raises(CommandError, match="--days must be between 1 and 366"):
        call_command("issue_token", "appraisal_system", "--days", "0")

    assert tokens().count() == 0


# --- malformed tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["Token", "Token a b", "Token \xff\xfe", "Token " + "0" * 64, "Token " + "x" * 10_000],
)
def test_a_malformed_token_is_401_not_500(db, header):
    response = APIClient().get("/api/v1/me", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401


def test_the_admin_issues_no_token_without_an_expiry(admin_client, admin_user):
    refused = admin_client.post("/admin/knox/authtoken/add/", {"user": admin_user.pk})
    issued = admin_client.post(
        "/admin/knox/authtoken/add/",
        {"user": admin_user.pk, "expiry_0": "2027-01-01", "expiry_1": "10:00:00"},
        follow=True,
    )

    assert refused.status_code == 200  # the form again, with the error
    errors = refused.context["adminform"].form.errors.as_data()
    assert [(field, [e.code for e in field_errors]) for field, field_errors in errors.items()] == [
        ("expiry", ["required"])
    ]
    assert issued.status_code == 200
    assert tokens().get().expiry is not None
