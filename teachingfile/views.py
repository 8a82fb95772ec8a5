from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from teachingfile.health import health


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """JSON health report: 200 when every part is up, 503 otherwise. No login needed."""
    report = health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
