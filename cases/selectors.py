"""Reads for cases. Every read of a case goes through here, which knows the user's role."""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse

from cases import review
from cases.models import AuditEvent, Case, Instance, QuarantineItem


def case_list_for_author(*, user: AbstractBaseUser) -> QuerySet[Case]:
    """The author's cases, with what each is waiting for (see ``Case.progress``)."""
    running = ("queued", "retrieving", "processing")
    return (
        Case.objects.filter(author=user)
        .annotate(
            n_series=Count("series", distinct=True),
            n_images=Count("series__instances", distinct=True),
            n_importing=Count(
                "import_jobs", filter=Q(import_jobs__status__in=running), distinct=True
            ),
            n_to_review=Count(
                "series__instances",
                filter=Q(series__instances__reviewed_at__isnull=True)
                & (
                    Q(series__instances__status="needs-review")
                    | ~Q(series__instances__proposed_regions=[])
                    | ~Q(series__instances__safe_regions=[])
                ),
                distinct=True,
            ),
            n_open_quarantine=Count(
                "quarantine", filter=Q(quarantine__status="open"), distinct=True
            ),
        )
        .order_by("-updated_at")
    )


def case_list_for_library(*, user: AbstractBaseUser, query: str = "") -> QuerySet[Case]:
    if not user.has_perm("cases.view_library"):
        raise PermissionDenied
    cases = Case.objects.filter(status=Case.Status.PUBLISHED)
    if query:
        cases = cases.filter(
            Q(title__icontains=query)
            | Q(diagnosis__icontains=query)
            | Q(keywords__icontains=query)
            | Q(findings__icontains=query)
        )
    return cases.order_by("-published_at")


def case_get_for_viewer(*, user: AbstractBaseUser, case_id: int) -> Case:
    """A case the user may see: published ones, and their own drafts."""
    case = get_object_or_404(Case, pk=case_id)
    if case.status == Case.Status.PUBLISHED and user.has_perm("cases.view_library"):
        return case
    if case.author_id == user.pk and user.has_perm("cases.author_case"):
        return case
    if user.has_perm("cases.withdraw_any_case") and case.status != Case.Status.DRAFT:
        return case
    raise PermissionDenied


def quarantine_list_open() -> QuerySet[QuarantineItem]:
    return QuarantineItem.objects.filter(status=QuarantineItem.Status.OPEN).select_related(
        "case", "job"
    )


def audit_list_recent(*, limit: int = 200) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.select_related("actor", "case")[:limit]


def case_get_for_editing(*, user: AbstractBaseUser, case_id: int) -> Case:
    """A draft case of the signed-in author (no one else edits it)."""
    case = get_object_or_404(Case, pk=case_id)
    if case.author_id != user.pk or not user.has_perm("cases.author_case"):
        raise PermissionDenied
    return case


def editor_config(*, case: Case) -> dict[str, object]:
    """What the browser editor needs (new UIDs are never included; no patient data)."""
    series_list = []
    for series in case.series.prefetch_related("instances").order_by("order", "pk"):
        series_list.append(
            {
                "id": series.pk,
                "description": series.description,
                "modality": series.modality,
                "crop": series.crop,
                "crop_url": reverse("cases:series_crop", args=[case.pk, series.pk]),
                "key_instance": series.key_instance_id,
                "key_image_url": reverse("cases:series_key_image", args=[case.pk, series.pk]),
                "confirm_url": reverse("cases:series_confirm", args=[case.pk, series.pk]),
                "instances": [
                    {
                        "id": i.pk,
                        "url": reverse("cases:instance_dicom", args=[case.pk, i.pk]),
                        "edits_url": reverse("cases:instance_edits", args=[case.pk, i.pk]),
                        "frames": i.number_of_frames,
                        "rows": i.rows,
                        "columns": i.columns,
                        "needs_review": review.needs_confirmation(i),
                        "reviewed": review.is_reviewed(i),
                        "confirm_url": reverse("cases:instance_confirm", args=[case.pk, i.pk]),
                        # Geometry, kind and matched keyword: never recognised text.
                        "proposed": review.proposals_clean(i.proposed_regions),
                        "decisions": i.proposal_decisions,
                        "gate_regions": review.gate_regions_clean(i.gate_regions),
                        "safe_regions": i.safe_regions,
                        "blackouts": i.blackouts,
                        "annotations": i.annotations,
                        "annotations_url": reverse(
                            "cases:instance_annotations", args=[case.pk, i.pk]
                        ),
                    }
                    for i in series.instances.all()
                ],
            }
        )
    return {"case_id": case.pk, "series": series_list}


def editor_url(*, instance: Instance, frame: int | None = None) -> str:
    """The editor opened at one image (and 0-based frame): ?image=<id>&frame=<1-based>."""
    url = reverse("cases:case_edit", args=[instance.series.case_id])
    url += f"?image={instance.pk}"
    return url + (f"&frame={frame + 1}" if frame is not None else "")


def case_review_todo(*, case: Case) -> list[dict[str, object]]:
    """The images waiting for the author's review, each with a link into the editor."""
    return [
        {
            "instance": instance,
            "undecided": len(review.undecided(instance)),
            "editor_url": editor_url(instance=instance),
        }
        for instance in review.images_to_review(case=case)
    ]


def case_publish_failures(*, case: Case) -> list[dict[str, object]]:
    """Why the last publish stopped at each image, with what the author can do: open the
    editor where the final check points (to add a box or mark the area safe), fix the
    text that will be published (the free-text hint), or leave the image out."""
    from cases.freetext import free_text_failure_hint

    items = (
        QuarantineItem.objects.filter(
            case=case,
            instance__isnull=False,
            stage=QuarantineItem.Stage.SECOND_PASS,
            status=QuarantineItem.Status.OPEN,
        )
        .select_related("instance__series")
        .order_by("instance__series__order", "instance__instance_number", "instance")
    )
    failures = []
    for item in items:
        instance = item.instance
        assert instance is not None
        regions = review.gate_regions_clean(instance.gate_regions)
        frames = [r["frame"] for r in regions if isinstance(r.get("frame"), int)]
        failures.append(
            {
                "item": item,
                "instance": instance,
                "reason": item.reason,
                "places": len(regions),
                "editor_url": editor_url(instance=instance, frame=min(frames, default=None)),
                "text_hint": free_text_failure_hint(instance=instance, reasons=[item.reason]),
                "leave_out_url": reverse("cases:instance_leave_out", args=[case.pk, instance.pk]),
            }
        )
    return failures


def _annotations_in_crop(annotations: list[dict], crop: dict | None) -> list[dict]:
    """Annotations are drawn on the uncropped image: move them onto the published one."""
    if not crop:
        return list(annotations)
    dx, dy = crop["x"], crop["y"]
    moved = []
    for a in annotations:
        a = dict(a)
        for keys, offset in ((("x", "x1", "x2"), dx), (("y", "y1", "y2"), dy)):
            for key in keys:
                if key in a:
                    a[key] = round(a[key] - offset, 1)
        moved.append(a)
    return moved


def viewer_config(*, case: Case) -> dict[str, object]:
    """What the read-only library viewer needs: the published images of each series."""

    series_list = []
    # Only the columns the viewer shows: an instance also carries its proposals, review
    # state and fingerprint as JSON, which a trainee's page has no use for.
    published = Instance.objects.filter(status=Instance.Status.PUBLISHED).only(
        "pk", "series_id", "number_of_frames", "rows", "columns", "annotations", "status"
    )
    for series in case.series.prefetch_related(Prefetch("instances", queryset=published)).order_by(
        "order", "pk"
    ):
        crop = series.crop
        instances = [
            {
                "id": i.pk,
                "url": reverse("cases:published_dicom", args=[case.pk, i.pk]),
                "frames": i.number_of_frames,
                # Publishing applies the crop, so the published image has the crop's size.
                "rows": crop["height"] if crop else i.rows,
                "columns": crop["width"] if crop else i.columns,
                "annotations": _annotations_in_crop(i.annotations, crop),
            }
            for i in series.instances.all()
            if i.status == Instance.Status.PUBLISHED
        ]
        if instances:
            series_list.append(
                {
                    "id": series.pk,
                    "description": series.description,
                    "modality": series.modality,
                    "instances": instances,
                    "key_instance": series.key_instance_id,
                }
            )
    return {"case_id": case.pk, "readonly": True, "series": series_list}
