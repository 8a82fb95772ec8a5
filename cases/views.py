"""Thin views: parse input, call one selector or service, render."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required
from cases import editing, freetext, review, schemas, selectors, services, storage, uploads
from cases.forms import CaseWriteUpForm, LibrarySearchForm, PublishForm
from cases.models import Case, FreeTextValue, Instance, QuarantineItem, Series
from cases.publish import CHECKLIST, PublishBlocked, case_publish_request, publish_blockers
from cases.warnings import face_reconstruction_warnings
from teachingfile.http import revalidated_file_response


@permission_required("cases.author_case")
def my_cases(request: HttpRequest) -> HttpResponse:
    cases = selectors.case_list_for_author(user=request.user)
    return render(request, "cases/my_cases.html", {"cases": cases})


@require_POST
@permission_required("cases.author_case")
def case_new(request: HttpRequest) -> HttpResponse:
    case = services.case_create(author=request.user)
    return redirect(case)


@permission_required("cases.view_library")
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_viewer(user=request.user, case_id=case_id)
    can_withdraw = case.status == Case.Status.PUBLISHED and (
        case.author_id == request.user.pk or request.user.has_perm("cases.withdraw_any_case")
    )
    context = {"case": case, "can_withdraw": can_withdraw}
    if case.status == Case.Status.PUBLISHED:
        context["viewer_config"] = selectors.viewer_config(case=case)
    if case.author_id == request.user.pk and case.status == Case.Status.DRAFT:
        context["publish_form"] = PublishForm()
        # What stands in the way besides the checklist, which the form itself asks.
        context["blockers"] = publish_blockers(case=case, checklist=dict.fromkeys(CHECKLIST, True))
        context["face_warnings"] = face_reconstruction_warnings(case=case)
        context["review_todo"] = selectors.case_review_todo(case=case)
        context["publish_failures"] = selectors.case_publish_failures(case=case)
        context["free_text_rows"] = freetext.free_text_review(case=case)
        context["own_text"] = freetext.own_text_checked(case=case)
        context["upload_limits"] = {
            "files": settings.UPLOAD_MAX_FILES,
            "total_mb": settings.UPLOAD_MAX_TOTAL_BYTES >> 20,
            "megapixels": settings.UPLOAD_MAX_IMAGE_PIXELS // 1_000_000,
        }
    return render(request, "cases/case_detail.html", context)


@require_POST
@permission_required("cases.view_library")
def case_withdraw(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_viewer(user=request.user, case_id=case_id)
    if case.author_id != request.user.pk and not request.user.has_perm("cases.withdraw_any_case"):
        raise PermissionDenied
    try:
        services.case_withdraw(case=case, by=request.user, reason=request.POST.get("reason", ""))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The case was withdrawn from the library.")
    return redirect(case)


@permission_required("cases.view_library")
def library(request: HttpRequest) -> HttpResponse:
    form = LibrarySearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    cases = selectors.case_list_for_library(user=request.user, query=query)
    return render(request, "cases/library.html", {"form": form, "cases": cases})


@permission_required("cases.review_quarantine")
def quarantine(request: HttpRequest) -> HttpResponse:
    items = selectors.quarantine_list_open()
    return render(request, "cases/quarantine.html", {"items": items})


@require_POST
@permission_required("cases.review_quarantine")
def quarantine_discard(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(QuarantineItem, pk=item_id)
    services.quarantine_discard(item=item, by=request.user)
    messages.success(request, f"Quarantine item {item.pk} was discarded.")
    return redirect("cases:quarantine")


@permission_required("cases.view_audit")
def audit_log(request: HttpRequest) -> HttpResponse:
    return render(request, "cases/audit_log.html", {"events": selectors.audit_list_recent()})


@permission_required("cases.author_case")
def case_edit(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    config = {**selectors.editor_config(case=case), "csrf_token": get_token(request)}
    return render(request, "cases/editor.html", {"case": case, "config": config})


def _own_instance(request: HttpRequest, case_id: int, instance_id: int) -> Instance:
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    return get_object_or_404(Instance, pk=instance_id, series__case=case)


@permission_required("cases.author_case")
def instance_dicom(request: HttpRequest, case_id: int, instance_id: int) -> FileResponse:
    """The first-pass (header de-identified) file, for the author's editor only."""
    instance = _own_instance(request, case_id, instance_id)
    path = storage.resolve_inside(settings.WORKING_ROOT, instance.working_file)
    response = FileResponse(path.open("rb"), content_type="application/dicom")
    response["Cache-Control"] = "private, no-store"
    return response


def _json_body(request: HttpRequest, schema: str) -> dict:
    """The body as the endpoint's schema (``cases.schemas``) describes it. Its size is
    checked before it is read and its nesting before it is parsed."""
    try:
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Read as empty by Django: a PUT would replace the edits with nothing.
            raise schemas.BodyInvalid("the request body must come with a Content-Length")
        if int(request.META.get("CONTENT_LENGTH") or 0) > schemas.MAX_BODY_BYTES:
            raise schemas.BodyInvalid("the request body is too large")
        if request.method == "PUT" and not request.body.strip():
            raise schemas.BodyInvalid("the request body is empty: send the whole state as JSON")
        return schemas.parse_body(request.body, schema)
    except (schemas.BodyInvalid, ValueError) as exc:
        raise editing.EditsInvalid(str(exc)) from None


@require_http_methods(["PUT"])
@permission_required("cases.author_case")
def instance_edits(request: HttpRequest, case_id: int, instance_id: int) -> JsonResponse:
    instance = _own_instance(request, case_id, instance_id)
    try:
        body = _json_body(request, "instance_edits")
        instance = editing.instance_edits_save(
            instance=instance,
            by=request.user,
            blackouts=body.get("blackouts", []),
            decisions=body.get("decisions"),
            safe_regions=body.get("safe_regions"),
        )
    except editing.EditsInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"ok": True, "reviewed": review.is_reviewed(instance)})


def _review_state(instance: Instance) -> dict[str, object]:
    return {
        "id": instance.pk,
        "blackouts": instance.blackouts,
        "decisions": instance.proposal_decisions,
        "reviewed": review.is_reviewed(instance),
    }


@require_POST
@permission_required("cases.author_case")
def instance_confirm(request: HttpRequest, case_id: int, instance_id: int) -> JsonResponse:
    """Confirm one image as reviewed ({"accept_all": true}: accepting what is undecided)."""
    instance = _own_instance(request, case_id, instance_id)
    try:
        if request.content_type == "application/json":
            accept_all = _json_body(request, "instance_confirm").get("accept_all", False)
        else:  # a plain form
            accept_all = request.POST.get("accept_all") == "1"
        instance = review.instance_review_confirm(
            instance=instance, by=request.user, accept_all=accept_all
        )
    except editing.EditsInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"ok": True, "instances": [_review_state(instance)]})


@require_POST
@permission_required("cases.author_case")
def series_confirm(request: HttpRequest, case_id: int, series_id: int) -> JsonResponse:
    """Accept every undecided proposal of the series and confirm each of its images."""
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    series = get_object_or_404(Series, pk=series_id, case=case)
    try:
        if request.content_type == "application/json":
            _json_body(request, "series_confirm")  # nothing to say but {}
        instances = review.series_review_confirm(series=series, by=request.user)
    except editing.EditsInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"ok": True, "instances": [_review_state(i) for i in instances]})


@require_POST
@permission_required("cases.author_case")
def instance_leave_out(request: HttpRequest, case_id: int, instance_id: int) -> HttpResponse:
    """Take one image out of the draft case (its working file is deleted)."""
    instance = _own_instance(request, case_id, instance_id)
    case = instance.series.case
    try:
        review.instance_leave_out(instance=instance, by=request.user)
    except editing.EditsInvalid as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "The image was left out of the case.")
    return redirect(case)


@require_http_methods(["PUT"])
@permission_required("cases.author_case")
def instance_annotations(request: HttpRequest, case_id: int, instance_id: int) -> JsonResponse:
    instance = _own_instance(request, case_id, instance_id)
    try:
        editing.instance_annotations_save(
            instance=instance,
            by=request.user,
            annotations=_json_body(request, "instance_annotations").get("annotations", []),
        )
    except editing.EditsInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"ok": True})


@require_http_methods(["PUT"])
@permission_required("cases.author_case")
def series_crop(request: HttpRequest, case_id: int, series_id: int) -> JsonResponse:
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    series = get_object_or_404(Series, pk=series_id, case=case)
    try:
        editing.series_crop_save(
            series=series, by=request.user, crop=_json_body(request, "series_crop").get("crop")
        )
    except editing.EditsInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"ok": True})


@require_http_methods(["PUT"])
@permission_required("cases.author_case")
def series_key_image(request: HttpRequest, case_id: int, series_id: int) -> JsonResponse:
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    series = get_object_or_404(Series, pk=series_id, case=case)
    try:
        body = _json_body(request, "series_key_image")  # {"instance": id or null}
        editing.series_key_image_save(series=series, by=request.user, instance_id=body["instance"])
    except editing.EditsInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"ok": True})


@permission_required("cases.author_case")
def case_write(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    if case.status != Case.Status.DRAFT:
        messages.error(request, "Only a draft can be changed.")
        return redirect(case)
    form = CaseWriteUpForm(request.POST or None, instance=case)
    if request.method == "POST" and form.is_valid():
        services.case_write_up_save(form=form, by=request.user)
        messages.success(request, "Saved.")
        return redirect(case)
    return render(request, "cases/case_write.html", {"case": case, "form": form})


@require_POST
@permission_required("cases.author_case")
def case_publish(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    form = PublishForm(request.POST)
    form.is_valid()
    try:
        case_publish_request(case=case, by=request.user, checklist=form.cleaned_data)
    except PublishBlocked as exc:
        for reason in exc.reasons:
            messages.error(request, reason)
    else:
        messages.success(request, "Publishing: the final check runs over every image.")
    return redirect(case)


@csrf_exempt  # checked below, once the upload handler is in place (the check reads the body)
@require_POST
@permission_required("cases.author_case")
def case_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    """Store the files and queue their processing; the job page shows the progress."""
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    refusal = uploads.upload_length_refusal(int(request.META.get("CONTENT_LENGTH") or 0))
    if refusal:  # refused before a byte of the body is read
        messages.error(request, refusal)
        return redirect(case)
    handler = uploads.UploadLimitHandler(request)
    request.upload_handlers = [handler]  # every file streams to disk, limits checked
    return _case_upload_store(request, case, handler)


@csrf_protect
def _case_upload_store(
    request: HttpRequest, case: Case, handler: uploads.UploadLimitHandler
) -> HttpResponse:
    files = request.FILES.getlist("files")
    try:
        if handler.refusal:
            raise uploads.UploadRefused(handler.refusal)
        job = uploads.upload_job_create(case=case, by=request.user, files=files)
    except uploads.UploadRefused as exc:
        for upload in files:  # received so far: deleted
            upload.close()
        messages.error(request, str(exc))
        return redirect(case)
    messages.success(request, f"{len(files)} file(s) received: they are being de-identified.")
    return redirect("pacs_bridge:job", job.pk)


@permission_required("cases.view_library")
def published_dicom(request: HttpRequest, case_id: int, instance_id: int) -> HttpResponseBase:
    """A published (second-pass, verified) file, for anyone who may see the case.

    Gone (404) as soon as the case is withdrawn, or to anyone who may not see it. The
    browser may keep a private copy but revalidates it on every use (ETag, 304), so a
    withdrawn image is never shown again from its cache.
    """
    try:
        case = selectors.case_get_for_viewer(user=request.user, case_id=case_id)
    except PermissionDenied:
        raise Http404 from None
    if case.status != Case.Status.PUBLISHED:
        raise Http404
    instance = get_object_or_404(
        Instance, pk=instance_id, series__case=case, status=Instance.Status.PUBLISHED
    )
    path = storage.resolve_inside(settings.PUBLISHED_ROOT, instance.published_file)
    return revalidated_file_response(
        request, path, content_type="application/dicom", cache_control="private, no-cache"
    )


@require_POST
@permission_required("cases.author_case")
def series_move(request: HttpRequest, case_id: int, series_id: int) -> HttpResponse:
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    try:
        services.series_move(
            case=case, series_id=series_id, by=request.user, up=request.POST.get("to") == "up"
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect(case)


@require_POST
@permission_required("cases.author_case")
def free_text_decide(request: HttpRequest, case_id: int, value_id: int) -> HttpResponse:
    """Accept, edit or clear one free-text value that will be published."""
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    value = get_object_or_404(FreeTextValue, pk=value_id, case=case)
    try:
        freetext.free_text_decide(
            value=value,
            by=request.user,
            action=request.POST.get("action", ""),
            text=request.POST.get("text", ""),
        )
    except freetext.FreeTextInvalid as exc:
        messages.error(request, str(exc))
    return redirect(f"{case.get_absolute_url()}#text-{value.pk}")


@require_POST
@permission_required("cases.author_case")
def text_acknowledge(request: HttpRequest, case_id: int) -> HttpResponse:
    """The author marks a flagged word of their own text as not an identifier."""
    case = selectors.case_get_for_editing(user=request.user, case_id=case_id)
    try:
        start, end = int(request.POST.get("start", "")), int(request.POST.get("end", ""))
        freetext.text_finding_acknowledge(
            case=case, by=request.user, where=request.POST.get("where", ""), start=start, end=end
        )
    except ValueError as exc:  # FreeTextInvalid, or a start/end that is not a number
        messages.error(request, str(exc) if isinstance(exc, freetext.FreeTextInvalid) else
                       "That word could not be found: reload the page.")  # fmt: skip
    return redirect(f"{case.get_absolute_url()}#own-text")
