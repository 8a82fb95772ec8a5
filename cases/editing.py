"""The author's edits, stored as data: boxes per instance, a crop per series.

Boxes (and areas marked safe) are validated against the image here, so the second pass
never meets one that does not fit. Saving edits never confirms an image: that is an
explicit action (``cases.review``); changing a decision on a proposal or marking an area
safe withdraws an earlier confirmation.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from anonymizer.pixels import EditsDoNotFit, Rect, edits_from_json, edits_to_json
from cases.models import Case, Instance, Series
from cases.schemas import MAX_ANNOTATIONS, MAX_LABEL
from cases.services import audit_record


class EditsInvalid(ValueError):
    pass


def _check_rect(rect: Rect, *, columns: int, rows: int, what: str) -> None:
    if not rect.fits(columns, rows):
        raise EditsInvalid(f"the {what} {rect} does not fit the {columns}x{rows} image")


def require_draft(case: Case) -> None:
    """The one rule for changing a case's content: only while it is a draft. Inside a
    transaction the case's row is locked first, so that an edit and a publish request
    (which locks it too) cannot pass each other."""
    if transaction.get_connection().in_atomic_block:
        case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != Case.Status.DRAFT:
        raise EditsInvalid(f"the case is {case.get_status_display().lower()}: edits are closed")


def _areas_clean(areas: Any, instance: Instance, *, what: str) -> list[dict[str, Any]]:
    """Boxes or safe areas, checked against the image; returned in their JSON shape."""
    if not isinstance(areas, list):
        raise EditsInvalid("boxes and safe areas are sent as lists")
    try:
        edits = edits_from_json({"regions": areas, "crop": None})
    except (EditsDoNotFit, ValueError, TypeError, KeyError) as exc:
        raise EditsInvalid(str(exc)) from None
    for blackout in edits.blackouts:
        _check_rect(blackout.rect, columns=instance.columns, rows=instance.rows, what=what)
        frames = blackout.frames or ()
        if frames and (min(frames) < 0 or max(frames) >= instance.number_of_frames):
            raise EditsInvalid(f"the image has {instance.number_of_frames} frame(s)")
    return edits_to_json(edits)["regions"]


#: A safe area is for a scale bar or an L/R marker, not for switching the check off: each
#: may cover at most this share of the image.
MAX_SAFE_AREA_SHARE = 0.05


def _check_safe_area_size(areas: list[dict[str, Any]], instance: Instance) -> None:
    image = max(instance.rows * instance.columns, 1)
    for area in areas:
        if area["width"] * area["height"] > MAX_SAFE_AREA_SHARE * image:
            raise EditsInvalid(
                f"a safe area may cover at most {MAX_SAFE_AREA_SHARE:.0%} of the image; "
                "black out identifying text instead, or leave the image out"
            )


@transaction.atomic
def instance_edits_save(
    *,
    instance: Instance,
    by: AbstractBaseUser,
    blackouts: list[dict[str, Any]],
    decisions: dict[str, str] | None = None,
    safe_regions: list[dict[str, Any]] | None = None,
) -> Instance:
    """Save an image's boxes, its decisions on proposals and its safe areas (None: keep).

    An accepted proposal is a box (added here if the author's list lacks it). A changed
    decision or a newly marked safe area withdraws the author's confirmation."""
    from cases import review

    case = instance.series.case
    require_draft(case)
    blackouts = _areas_clean(blackouts, instance, what="box")
    old_decisions = instance.proposal_decisions or {}
    new_decisions = (
        old_decisions if decisions is None else review.decisions_clean(decisions, instance)
    )
    old_safe = instance.safe_regions or []
    new_safe = old_safe if safe_regions is None else _areas_clean(
        safe_regions, instance, what="safe area"
    )  # fmt: skip
    _check_safe_area_size(new_safe, instance)
    marked_safe = any(area not in old_safe for area in new_safe)
    instance.blackouts = review.with_accepted_boxes(blackouts, instance, new_decisions)
    instance.proposal_decisions = new_decisions
    instance.safe_regions = new_safe
    if new_decisions != old_decisions or marked_safe:
        instance.reviewed_at = None
    instance.save(update_fields=["blackouts", "proposal_decisions", "safe_regions", "reviewed_at"])
    decided = list(new_decisions.values())
    audit_record(
        actor=by,
        action="instance.edits",
        case=case,
        target=f"instance:{instance.pk}",
        detail={
            "boxes": len(instance.blackouts),
            "accepted": decided.count("accepted"),
            "rejected": decided.count("rejected"),
            "reviewed": instance.reviewed_at is not None,
        },
    )
    if new_safe != old_safe:
        audit_record(
            actor=by,
            action="instance.safe_regions",
            case=case,
            target=f"instance:{instance.pk}",
            detail={"areas": len(new_safe), "marked": marked_safe},
        )
    return instance


def series_crop_save(
    *, series: Series, by: AbstractBaseUser, crop: dict[str, Any] | None
) -> Series:
    require_draft(series.case)
    if crop is not None:
        try:
            rect = Rect.from_json(crop, what="crop")
        except (ValueError, TypeError, KeyError) as exc:
            raise EditsInvalid(str(exc)) from None
        for instance in series.instances.all():
            _check_rect(rect, columns=instance.columns, rows=instance.rows, what="crop")
        crop = rect.to_json()
    series.crop = crop
    series.save(update_fields=["crop"])
    audit_record(actor=by, action="series.crop", case=series.case, target=f"series:{series.pk}")
    return series


def series_key_image_save(
    *, series: Series, by: AbstractBaseUser, instance_id: int | None
) -> Series:
    """Mark one image of the series as its key image (the one it opens on), or none."""
    require_draft(series.case)
    key = None
    if instance_id is not None:
        if isinstance(instance_id, bool) or not isinstance(instance_id, int):
            raise EditsInvalid("the key image is an image id or null")
        key = series.instances.filter(pk=instance_id).first()
        if key is None:
            raise EditsInvalid("the key image is not an image of this series")
    series.key_instance = key
    series.save(update_fields=["key_instance"])
    audit_record(
        actor=by,
        action="series.key_image",
        case=series.case,
        target=f"series:{series.pk}",
        detail={"instance": key.pk if key else None},
    )
    return series


ANNOTATION_FIELDS = {
    "arrow": ("x1", "y1", "x2", "y2"),
    "ellipse": ("x", "y", "width", "height"),
    "text": ("x", "y"),
}


def _annotation_clean(item: Any, instance: Instance) -> dict[str, Any]:
    if not isinstance(item, dict) or item.get("type") not in ANNOTATION_FIELDS:
        raise EditsInvalid("an annotation is an arrow, an ellipse or a text label")
    kind = item["type"]
    clean: dict[str, Any] = {"type": kind}
    for key in ANNOTATION_FIELDS[kind]:
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EditsInvalid(f"the {kind}'s {key} is not a number")
        limit = instance.columns if key.startswith(("x", "w")) else instance.rows
        if not 0 <= value <= limit:
            raise EditsInvalid(
                f"the {kind} does not fit the {instance.columns}x{instance.rows} image"
            )
        clean[key] = round(float(value), 1)
    if kind == "ellipse" and (
        clean["x"] + clean["width"] > instance.columns
        or clean["y"] + clean["height"] > instance.rows
    ):
        raise EditsInvalid(f"the ellipse does not fit the {instance.columns}x{instance.rows} image")
    if kind == "text":
        text = item.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_LABEL:
            raise EditsInvalid(f"a label is 1 to {MAX_LABEL} characters")
        clean["text"] = text.strip()
    frame = item.get("frame", 0)
    if isinstance(frame, bool) or not isinstance(frame, int):
        raise EditsInvalid("an annotation's frame is a number")
    if not 0 <= frame < max(1, instance.number_of_frames):
        raise EditsInvalid(f"the image has {instance.number_of_frames} frame(s)")
    clean["frame"] = frame
    return clean


def instance_annotations_save(
    *, instance: Instance, by: AbstractBaseUser, annotations: Any
) -> Instance:
    """Arrows, ellipses and labels for teaching: data shown over the image, never pixels."""
    require_draft(instance.series.case)
    if not isinstance(annotations, list) or len(annotations) > MAX_ANNOTATIONS:
        raise EditsInvalid(f"annotations are a list of at most {MAX_ANNOTATIONS}")
    instance.annotations = [_annotation_clean(a, instance) for a in annotations]
    instance.save(update_fields=["annotations"])
    audit_record(
        actor=by,
        action="instance.annotations",
        case=instance.series.case,
        target=f"instance:{instance.pk}",
        detail={"annotations": len(instance.annotations)},
    )
    return instance
