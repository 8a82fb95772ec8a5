"""The three roles, as Django groups with permissions.

Permissions are declared on ``cases.Case`` (see its ``Meta.permissions``) and on the
models an admin manages. A role is exactly the set of permissions below; code checks
permissions, never group names, so a site can build other groups from the same parts.
"""

from enum import StrEnum


class Role(StrEnum):
    AUTHOR = "author"
    TRAINEE = "trainee"
    ADMIN = "admin"


# Permission codenames ("app_label.codename") each role holds.
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.AUTHOR: (
        "cases.author_case",
        "cases.view_library",
    ),
    Role.TRAINEE: ("cases.view_library",),
    Role.ADMIN: (
        "cases.view_library",
        "cases.review_quarantine",
        "cases.view_audit",
        "cases.withdraw_any_case",
        "pacs_bridge.add_pacsnode",
        "pacs_bridge.change_pacsnode",
        "pacs_bridge.delete_pacsnode",
        "pacs_bridge.view_pacsnode",
        "auth.add_user",
        "auth.change_user",
        "auth.view_user",
        "cases.view_case",
        "cases.view_importjob",
        "cases.view_quarantineitem",
        "cases.change_quarantineitem",
        "cases.view_auditevent",
        "cases.view_reidentificationkey",
        # Lock-outs after repeated failed sign-ins: see them, and unlock by deleting one.
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
    ),
}

# The permission that identifies each role's home page, in order of precedence.
HOME_PERMISSION: tuple[tuple[str, str], ...] = (
    ("cases.review_quarantine", "cases:quarantine"),
    ("cases.author_case", "cases:my_cases"),
    ("cases.view_library", "cases:library"),
)


def roles_of(user) -> list[Role]:
    """The roles the user was given (for display; access checks use permissions)."""
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))
    return [role for role in Role if role.value in names]
