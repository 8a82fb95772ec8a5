from datetime import timedelta
from math import ceil
from typing import Any

from axes.helpers import get_cool_off
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.roles import HOME_PERMISSION


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each user to their role's home page."""
    for perm, url_name in HOME_PERMISSION:
        if request.user.has_perm(perm):
            return redirect(url_name)
    return render(request, "accounts/no_role.html", status=403)


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """What django-axes answers to a locked-out sign-in (``AXES_LOCKOUT_CALLABLE``): the
    sign-in page again, saying why and for how long, with 429 Too Many Requests."""
    cool_off = get_cool_off(request) or timedelta(0)
    context = {
        "form": LoginView.form_class(request),
        "next": request.POST.get("next", ""),
        "locked_out": True,
        "retry_minutes": max(1, ceil(cool_off.total_seconds() / 60)) if cool_off else None,
    }
    return render(request, "registration/login.html", context, status=429)
