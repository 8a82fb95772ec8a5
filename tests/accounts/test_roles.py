import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from accounts.roles import ROLE_PERMISSIONS, Role, roles_of
from accounts.services import DEMO_ACCOUNTS

pytestmark = pytest.mark.django_db


def test_migrate_leaves_one_group_per_role_with_exactly_its_permissions():
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.value)
        have = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert have == set(perms)


def test_demo_accounts_are_created_once_and_can_log_in(client, settings):
    settings.DEV = True  # the command refuses outside development mode
    call_command("ensure_demo_accounts")
    call_command("ensure_demo_accounts")  # running twice is safe
    assert User.objects.count() == len(DEMO_ACCOUNTS)
    for account in DEMO_ACCOUNTS:
        user = User.objects.get(username=account.username)
        assert roles_of(user) == [account.role]
        assert client.login(username=account.username, password=account.password)


def test_only_the_admin_role_reaches_the_django_admin(settings):
    settings.DEV = True
    call_command("ensure_demo_accounts")
    staff = {u.username for u in User.objects.filter(is_staff=True)}
    assert staff == {"admin"}
    assert roles_of(User.objects.get(username="trainee")) == [Role.TRAINEE]
