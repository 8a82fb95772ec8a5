"""Writes for accounts: groups for the roles, and demo accounts."""

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from accounts.roles import ROLE_PERMISSIONS, Role


def roles_sync(*, using: str = "default") -> dict[Role, Group]:
    """Create or update one group per role with exactly that role's permissions."""
    for app_config in apps.get_app_configs():  # permissions of apps migrated after ours
        create_permissions(app_config, verbosity=0, using=using)
    groups = {}
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role.value)
        perms = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            perms.append(
                Permission.objects.using(using).get(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(perms)
        groups[role] = group
    return groups


def user_assign_role(*, user: User, role: Role) -> None:
    """Give ``user`` the role (admins also get the Django admin site)."""
    group = Group.objects.get(name=role.value)
    user.groups.add(group)
    if role is Role.ADMIN and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role


DEMO_ACCOUNTS = (
    DemoAccount("author", "author-demo", Role.AUTHOR),
    DemoAccount("trainee", "trainee-demo", Role.TRAINEE),
    DemoAccount("admin", "admin-demo", Role.ADMIN),
)


@transaction.atomic
def demo_accounts_ensure() -> tuple[DemoAccount, ...]:
    """Create the demo accounts (idempotent: running twice changes nothing)."""
    roles_sync()
    for account in DEMO_ACCOUNTS:
        user, created = User.objects.get_or_create(username=account.username)
        if created:
            user.set_password(account.password)
            user.save()
        user_assign_role(user=user, role=account.role)
    return DEMO_ACCOUNTS
