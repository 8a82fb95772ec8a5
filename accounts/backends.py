"""Log-in throttling: django-axes refuses a username+address that failed too often.

Every log-in over HTTP (the sign-in page, the admin's) passes the request, so axes can
count and refuse it. ``authenticate()`` without a request (the shell, Django's test
client) cannot be throttled by address and is not an attack surface: it is let through
to the next backend instead of raising, as axes' own backend does.
"""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)
