"""Issue 16 item 11: one sign-in guard (django-axes) for every entry point.

The attack: 30 wrong passwords then the right one signed in on the pages' /login/ (only the
API token endpoint and /admin/login/ were throttled). Now every entry point counts failed
sign-ins per username (AXES_LOCKOUT_PARAMETERS = ["username"]): after 5 the username is
refused for 15 minutes, even with the right password, whatever the address; a colleague
signing in from the same address (a clinic behind one NAT address) is not affected.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "right-password-123"
LIMIT = 5
COOL_OFF = dt.timedelta(minutes=15)
T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def nurse(db):
    user = UserFactory(username="east_nurse")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def colleague(db):
    user = UserFactory(username="east_colleague")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def operator(db):
    user = UserFactory(username="operator", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def page_sign_in(client: Client, username: str, password: str, **extra):
    return client.post(
        "/login/", {"username": username, "password": password, "next": "/"}, **extra
    )


def admin_sign_in(client: Client, username: str, password: str):
    return client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}
    )


def token_sign_in(username: str, password: str, **extra):
    return APIClient().post(
        "/api/v1/auth/token", {"username": username, "password": password}, format="json", **extra
    )


def test_the_guard_settings():
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    assert settings.AXES_COOLOFF_TIME == COOL_OFF
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


# --- the attack on each entry point ----------------------------------------------------------


def test_thirty_wrong_passwords_then_the_right_one_on_the_sign_in_page_is_refused(
    nurse, time_machine
):
    time_machine.move_to(T0, tick=False)  # Retry-After counts from the last failure
    client = Client()

    statuses = [page_sign_in(client, "east_nurse", f"guess-{n}").status_code for n in range(30)]
    right = page_sign_in(client, "east_nurse", PASSWORD)

    assert statuses == [200] * (LIMIT - 1) + [429] * (30 - LIMIT + 1)
    assert right.status_code == 429
    assert int(right["Retry-After"]) == COOL_OFF.total_seconds()
    assert SESSION_KEY not in client.session
    assert client.get("/").status_code == 302  # still sent to the sign-in page


def test_the_locked_page_says_why_in_chinese_with_no_english_sentence(nurse):
    client = Client()
    for n in range(LIMIT):
        page_sign_in(client, "east_nurse", f"guess-{n}")

    page = page_sign_in(client, "east_nurse", PASSWORD).content.decode()

    assert "该用户名登录失败次数过多，已被锁定，请 15 分钟后再试。" in page
    assert "Too many" not in page
    assert "didn't match" not in page
    assert 'name="username"' in page  # the form again, to try later


def test_the_locked_page_says_why_in_english(nurse):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for n in range(LIMIT):
        page_sign_in(client, "east_nurse", f"guess-{n}")

    page = page_sign_in(client, "east_nurse", PASSWORD).content.decode()

    assert (
        "Too many failed sign-ins for this username. It is locked: try again in 15 minutes." in page
    )
    assert "登录失败次数过多" not in page


def test_thirty_wrong_passwords_then_the_right_one_on_the_admin_sign_in_is_refused(
    operator, time_machine
):
    time_machine.move_to(T0, tick=False)  # Retry-After counts from the last failure
    client = Client()

    statuses = [admin_sign_in(client, "operator", f"guess-{n}").status_code for n in range(30)]
    right = admin_sign_in(client, "operator", PASSWORD)

    assert statuses == [200] * (LIMIT - 1) + [429] * (30 - LIMIT + 1)
    assert right.status_code == 429
    assert int(right["Retry-After"]) == COOL_OFF.total_seconds()
    assert SESSION_KEY not in client.session
    assert client.get("/admin/").status_code == 302


def test_thirty_wrong_passwords_then_the_right_one_on_the_token_endpoint_is_refused(
    nurse, time_machine
):
    time_machine.move_to(T0, tick=False)  # Retry-After counts from the last failure
    statuses = [token_sign_in("east_nurse", f"guess-{n}").status_code for n in range(30)]

    right = token_sign_in("east_nurse", PASSWORD)

    assert statuses == [400] * (LIMIT - 1) + [429] * (30 - LIMIT + 1)
    assert right.status_code == 429
    assert int(right["Retry-After"]) == COOL_OFF.total_seconds()
    assert right.json()["errors"] == [
        {
            "field": "username",
            "message": "too many failed sign-ins for this username; it is locked, "
            "try again in 900 s",
        }
    ]
    assert "token" not in right.json()


def test_failures_at_one_entry_point_lock_the_others(nurse):
    for n in range(LIMIT):
        page_sign_in(Client(), "east_nurse", f"guess-{n}")

    assert token_sign_in("east_nurse", PASSWORD).status_code == 429


# --- the cool-off --------------------------------------------------------------------------


def test_the_lock_holds_until_the_cool_off_has_passed_since_the_last_failure(nurse, time_machine):
    time_machine.move_to(T0, tick=False)
    for n in range(LIMIT):
        token_sign_in("east_nurse", f"guess-{n}")

    time_machine.move_to(T0 + COOL_OFF - dt.timedelta(seconds=1), tick=False)
    before = token_sign_in("east_nurse", PASSWORD)
    time_machine.move_to(T0 + COOL_OFF + dt.timedelta(seconds=1), tick=False)
    after = token_sign_in("east_nurse", PASSWORD)

    assert before.status_code == 429
    assert before["Retry-After"] == "1"
    assert after.status_code == 200
    assert set(after.json()) == {"token", "expiry"}


def test_the_cool_off_on_the_sign_in_page_both_sides_of_the_boundary(nurse, time_machine):
    time_machine.move_to(T0, tick=False)
    for n in range(LIMIT):
        page_sign_in(Client(), "east_nurse", f"guess-{n}")

    time_machine.move_to(T0 + COOL_OFF - dt.timedelta(seconds=1), tick=False)
    before = page_sign_in(Client(), "east_nurse", PASSWORD)
    time_machine.move_to(T0 + COOL_OFF + dt.timedelta(seconds=1), tick=False)
    client = Client()
    after = page_sign_in(client, "east_nurse", PASSWORD)

    assert before.status_code == 429
    assert after.status_code == 302
    assert client.session[SESSION_KEY] == str(nurse.pk)


def test_attempts_during_the_lock_do_not_extend_it(nurse, time_machine):
    time_machine.move_to(T0, tick=False)
    for n in range(LIMIT):
        token_sign_in("east_nurse", f"guess-{n}")
    time_machine.move_to(T0 + COOL_OFF - dt.timedelta(minutes=1), tick=False)
    for n in range(10):
        token_sign_in("east_nurse", f"again-{n}")

    time_machine.move_to(T0 + COOL_OFF + dt.timedelta(seconds=1), tick=False)

    assert token_sign_in("east_nurse", PASSWORD).status_code == 200


# --- who else is affected ----------------------------------------------------------------


def test_a_colleague_at_the_same_address_still_signs_in(nurse, colleague):
    for n in range(30):
        page_sign_in(Client(), "east_nurse", f"guess-{n}", REMOTE_ADDR="10.20.0.1")

    client = Client()
    response = page_sign_in(client, "east_colleague", PASSWORD, REMOTE_ADDR="10.20.0.1")

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(colleague.pk)
    assert token_sign_in("east_colleague", PASSWORD, REMOTE_ADDR="10.20.0.1").status_code == 200


def test_the_locked_username_is_refused_from_every_address(nurse):
    for n in range(LIMIT):
        token_sign_in("east_nurse", f"guess-{n}", REMOTE_ADDR=f"10.30.0.{n}")

    response = token_sign_in("east_nurse", PASSWORD, REMOTE_ADDR="10.99.0.1")

    assert response.status_code == 429


# --- honest use --------------------------------------------------------------------------


def test_the_right_password_signs_in_at_once(nurse):
    client = Client()

    response = page_sign_in(client, "east_nurse", PASSWORD)

    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(nurse.pk)


def test_a_successful_sign_in_clears_the_earlier_failures(nurse):
    for n in range(LIMIT - 1):
        token_sign_in("east_nurse", f"typo-{n}")
    assert token_sign_in("east_nurse", PASSWORD).status_code == 200

    again = [token_sign_in("east_nurse", f"typo-{n}").status_code for n in range(LIMIT)]

    assert again == [400] * (LIMIT - 1) + [429]
