"""Author-facing PACS pages: search, choose series, follow the import."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import permission_required
from cases.models import ImportJob
from pacs_bridge import search_tokens, selectors, services
from pacs_bridge.dicom import scu
from pacs_bridge.dicom.errors import PacsError
from pacs_bridge.forms import ImportForm, StudySearchForm
from pacs_bridge.models import PacsNode
from pacs_bridge.pull import node_for


@permission_required("cases.author_case")
def search(request: HttpRequest) -> HttpResponse:
    """Search by POST, so that names and IDs stay out of URLs, history and access logs;
    each match is opened through an opaque server-side token (the session holds nothing
    from the PACS)."""
    form = StudySearchForm(request.POST or None)
    studies, error = None, ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        query = scu.StudyQuery(
            patient_id=data["patient_id"],
            patient_name=data["patient_name"],
            accession_number=data["accession_number"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            modality=data["modality"].upper(),
            description=data["description"],
        )
        try:
            matches = scu.find_studies(node_for(data["node"]), query)
        except PacsError as exc:
            error = exc.message
        else:
            tokens = search_tokens.search_tokens_issue(
                user=request.user,
                node=data["node"],
                study_instance_uids=[m.study_instance_uid for m in matches],
            )
            studies = list(zip(tokens, matches, strict=True))
    return render(
        request,
        "pacs_bridge/search.html",
        {"form": form, "studies": studies, "error": error, "has_nodes": PacsNode.objects.exists()},
    )


@permission_required("cases.author_case")
def study(request: HttpRequest, node_id: int, token: str) -> HttpResponse:
    node = get_object_or_404(PacsNode, pk=node_id, enabled=True)
    study_uid = search_tokens.search_token_resolve(user=request.user, node=node, token=token)
    if study_uid is None:
        messages.error(request, "That search result has expired: search again.")
        return redirect("pacs_bridge:search")
    try:
        series = scu.find_series(node_for(node), study_uid)
    except PacsError as exc:
        messages.error(request, exc.message)
        return redirect("pacs_bridge:search")
    form = ImportForm(
        initial={"node": node.pk, "token": token},
        author=request.user,
        series_choices=[(s.series_instance_uid, s.series_instance_uid) for s in series],
    )
    return render(request, "pacs_bridge/study.html", {"node": node, "series": series, "form": form})


@require_POST
@permission_required("cases.author_case")
def import_start(request: HttpRequest) -> HttpResponse:
    form = ImportForm(
        request.POST,
        author=request.user,
        series_choices=[(s, s) for s in request.POST.getlist("series")],
    )
    if not form.is_valid():
        messages.error(request, "Choose the series to import.")
        return redirect("pacs_bridge:search")
    data = form.cleaned_data
    study_uid = search_tokens.search_token_resolve(
        user=request.user, node=data["node"], token=data["token"]
    )
    if study_uid is None:
        messages.error(request, "That search result has expired: search again.")
        return redirect("pacs_bridge:search")
    job = services.import_start(
        author=request.user,
        node=data["node"],
        study_instance_uid=study_uid,
        series_instance_uids=data["series"],
        case=data["case"],
    )
    return redirect("pacs_bridge:job", job.pk)


def _own_job(request: HttpRequest, job_id: int) -> ImportJob:
    job = selectors.job_get_for_author(user=request.user, job_id=job_id)
    if job is None:
        raise Http404
    return job


@permission_required("cases.author_case")
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    return render(request, "pacs_bridge/job.html", {"job": _own_job(request, job_id)})


@permission_required("cases.author_case")
def job_status(request: HttpRequest, job_id: int) -> JsonResponse:
    return JsonResponse(selectors.job_status(_own_job(request, job_id)))


@require_POST
@permission_required("cases.author_case")
def job_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        new = services.import_retry(job=_own_job(request, job_id), by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("pacs_bridge:job", job_id)
    return redirect("pacs_bridge:job", new.pk)


@require_POST
@permission_required("cases.author_case")
def job_fetch_missing(request: HttpRequest, job_id: int) -> HttpResponse:
    try:
        new = services.import_fetch_missing(job=_own_job(request, job_id), by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("pacs_bridge:job", job_id)
    return redirect("pacs_bridge:job", new.pk)
