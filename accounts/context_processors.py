from django.http import HttpRequest

from accounts.roles import roles_of


def roles(request: HttpRequest) -> dict[str, object]:
    """The signed-in user's roles, for the navigation bar."""
    user_roles = roles_of(request.user)
    return {"user_roles": [r.value for r in user_roles]}
