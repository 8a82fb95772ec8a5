"""The author's edits, stored as data: boxes per instance, a crop per series.

Boxes are validated against the image here, so the second pass never meets a box that
does not fit. Saving boxes for a flagged instance counts as reviewing it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from anonymizer.pixels import EditsDoNotFit, Rect, edits_from_json
from cases.models import Case, Instance, Series
from cases.services import audit_record


class EditsInvalid(ValueError):
    pass


def _check_rect(rect: Rect, *, columns: int, rows: int, what: str) -> None:
    if not rect.fits(columns, rows):
        raise EditsInvalid(f"the {what} {rect} does not fit the {columns}x{rows} image")


def _require_draft(case: Case) -> None:
    if case.status != Case.Status.DRAFT:
        raise EditsInvalid(f"the case is {case.get_status_display().lower()}: edits are closed")


def instance_edits_save(
    *, instance: Instance, by: AbstractBaseUser, blackouts: list[dict[str, Any]], reviewed: bool
) -> Instance:
    _require_draft(instance.series.case)
    try:
        edits = edits_from_json({"regions": blackouts, "crop": None})
    except (EditsDoNotFit, ValueError, TypeError, KeyError) as exc:
        raise EditsInvalid(str(exc)) from None
    for blackout in edits.blackouts:
        _check_rect(blackout.rect, columns=instance.columns, rows=instance.rows, what="box")
        frames = blackout.frames or ()
        if frames and max(frames) >= instance.number_of_frames:
            raise EditsInvalid(f"the image has {instance.number_of_frames} frame(s)")
    instance.blackouts = blackouts
    if reviewed or blackouts:
        instance.reviewed_at = instance.reviewed_at or timezone.now()
    else:
        instance.reviewed_at = None
    instance.save(update_fields=["blackouts", "reviewed_at"])
    audit_record(
        actor=by,
        action="instance.edits",
        case=instance.series.case,
        target=f"instance:{instance.pk}",
        detail={"boxes": len(blackouts), "reviewed": instance.reviewed_at is not None},
    )
    return instance


def series_crop_save(
    *, series: Series, by: AbstractBaseUser, crop: dict[str, Any] | None
) -> Series:
    _require_draft(series.case)
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
