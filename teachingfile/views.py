from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from teachingfile.health import health


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when every part is up, 503 otherwise; no login needed. Anyone gets only "ok" or
    "unavailable"; staff also get the JSON report of each part."""
    report = health()
    status = 200 if report["status"] == "ok" else 503
    if request.user.is_authenticated and request.user.is_staff:
        return JsonResponse(report, status=status)
    return HttpResponse(
        "ok\n" if status == 200 else "unavailable\n", status=status, content_type="text/plain"
    )
