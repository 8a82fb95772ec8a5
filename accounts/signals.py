"""Sign-ins in the audit log: every success, failure and lock-out, with the attempted
username and the client's address (never the password)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from cases.services import audit_record

_MAX_USERNAME = 150  # Django's username length; an attacker may send anything longer


def _address(request: HttpRequest | None) -> str:
    # REMOTE_ADDR is the client: teachingfile.middleware.TrustedProxyMiddleware puts the
    # forwarded address there only when the request came through a trusted proxy.
    return (request.META.get("REMOTE_ADDR", "") if request is not None else "") or ""


def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already masked the password in ``credentials``; only the username is kept.
    username = str(credentials.get("username") or "")[:_MAX_USERNAME]
    audit_record(
        actor=None,
        action="login.failed",
        target=f"username:{username}"[:200],
        detail={
            "username": username,
            "ip": _address(request),
            "locked_out": bool(getattr(request, "axes_locked_out", False)),
        },
    )


def on_logged_in(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    audit_record(
        actor=user,
        action="login.success",
        target=f"username:{user.get_username()}"[:200],
        detail={"ip": _address(request)},
    )


def on_locked_out(
    sender: Any, request: HttpRequest | None, username: str = "", ip_address: str = "", **kwargs
) -> None:
    username = str(username or "")[:_MAX_USERNAME]
    audit_record(
        actor=None,
        action="login.locked_out",
        target=f"username:{username}"[:200],
        detail={"username": username, "ip": ip_address or _address(request)},
    )


def on_logged_out(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    if user is not None:
        audit_record(
            actor=user,
            action="logout",
            target=f"username:{user.get_username()}"[:200],
            detail={"ip": _address(request)},
        )
