"""Sign-in throttling and lock-out (django-axes), and every sign-in in the audit log."""

import pytest
from django.test import override_settings
from django.urls import reverse

from cases.models import AuditEvent

pytestmark = pytest.mark.django_db

RIGHT = "ada-pw-123"  # the `author` fixture's password (tests/conftest.py)


def _sign_in(client, username: str, password: str, address: str = "10.1.2.3"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_thirty_wrong_passwords_then_the_right_one_is_refused_after_five(client, author):
    statuses = [_sign_in(client, "ada", f"wrong-{i}").status_code for i in range(30)]
    assert statuses[:4] == [200] * 4  # the sign-in page again, "didn't match"
    assert set(statuses[4:]) == {429}  # locked out from the fifth failure on
    response = _sign_in(client, "ada", RIGHT)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed sign-ins" in page and "Try again in 15 minutes" in page
    assert '<form method="post"' in page  # the sign-in page itself, not a bare error


def test_failed_sign_ins_are_audited_with_username_and_address_never_the_password(client, author):
    for i in range(6):
        _sign_in(client, "ada", f"secret-guess-{i}")
    failed = AuditEvent.objects.filter(action="login.failed").order_by("pk")
    assert failed.count() == 6
    assert all(e.detail["username"] == "ada" and e.detail["ip"] == "10.1.2.3" for e in failed)
    assert failed.last().detail["locked_out"] is True
    locked = AuditEvent.objects.filter(action="login.locked_out")
    assert locked.count() == 2  # the fifth failure, and the sixth during the lock-out
    assert locked.first().detail == {"username": "ada", "ip": "10.1.2.3"}
    everything = str(list(AuditEvent.objects.values("target", "detail")))
    assert "secret-guess" not in everything and "****" not in everything


def test_an_unknown_username_is_audited_too(client, author):
    _sign_in(client, "nobody-here", "x")
    event = AuditEvent.objects.get(action="login.failed")
    assert event.actor is None and event.detail["username"] == "nobody-here"


def test_a_successful_sign_in_is_audited_and_resets_the_count(client, author):
    for i in range(4):
        _sign_in(client, "ada", f"wrong-{i}")
    response = _sign_in(client, "ada", RIGHT)
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="login.success")
    assert event.actor == author and event.detail == {"ip": "10.1.2.3"}
    client.logout()
    for i in range(4):  # four more failures do not lock: the success reset the count
        assert _sign_in(client, "ada", f"wrong-again-{i}").status_code == 200
    assert _sign_in(client, "ada", RIGHT).status_code == 302


def test_the_lock_is_per_username_and_address(client, author, trainee):
    for i in range(5):
        _sign_in(client, "ada", f"wrong-{i}", address="10.9.9.9")
    assert _sign_in(client, "ada", RIGHT, address="10.9.9.9").status_code == 429
    # The same user from another address, and another user from the same address, go on.
    assert _sign_in(client, "ada", RIGHT, address="10.7.7.7").status_code == 302
    client.logout()
    assert _sign_in(client, "tom", "tom-pw-123", address="10.9.9.9").status_code == 302


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_limit_is_a_setting(client, author):
    assert _sign_in(client, "ada", "wrong-1").status_code == 200
    assert _sign_in(client, "ada", "wrong-2").status_code == 429


def test_an_admin_can_see_and_lift_a_lock_out_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/axes/accessattempt/").status_code == 200
    assert admin_user.has_perm("axes.delete_accessattempt")
