"""Fixtures shared by every test layer."""

import os

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM must still work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def require(available: bool, what: str) -> None:
    """Skip when a service is missing on a developer's machine; fail under CI."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required when CI is set", pytrace=False)
    pytest.skip(f"{what} is not available")


@pytest.fixture
def roles(db):
    from accounts.services import roles_sync

    return roles_sync()


@pytest.fixture
def make_user(roles):
    from django.contrib.auth.models import User

    from accounts.roles import Role
    from accounts.services import user_assign_role

    def make(username: str, role: Role | None) -> User:
        user = User.objects.create_user(username=username, password=f"{username}-pw-123")
        if role is not None:
            user_assign_role(user=user, role=role)
        return user

    return make


@pytest.fixture
def author(make_user):
    from accounts.roles import Role

    return make_user("ada", Role.AUTHOR)


@pytest.fixture
def trainee(make_user):
    from accounts.roles import Role

    return make_user("tom", Role.TRAINEE)


@pytest.fixture
def admin_user(make_user):
    from accounts.roles import Role

    return make_user("amy", Role.ADMIN)


# Real services (a Celery worker, the demo PACS, our listener) for every layer that needs
# them; imported last because tests.services uses `require` from this module.
from tests.services import *  # noqa: E402, F403
