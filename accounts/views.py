from django.contrib.auth.decorators import login_required
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
