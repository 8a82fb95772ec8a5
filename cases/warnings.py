"""Warnings for the author before publishing: things that can identify a patient although
every header and pixel check passes."""

from __future__ import annotations

import pydicom
from django.conf import settings

from cases import storage
from cases.models import Case, Series

HEAD_WORDS = ("HEAD", "BRAIN", "SKULL", "FACE", "ORBIT", "SINUS", "NECK", "MAXILLO", "DENTAL")
THIN_MM = 3.0
VOLUME_IMAGES = 20


def _header(series: Series) -> pydicom.Dataset | None:
    instance = series.instances.first()
    if instance is None:
        return None
    try:
        path = storage.resolve_inside(settings.WORKING_ROOT, instance.working_file)
        return pydicom.dcmread(path, stop_before_pixels=True)
    except (OSError, ValueError, pydicom.errors.InvalidDicomError):
        return None


def face_reconstruction_warnings(*, case: Case) -> list[str]:
    """Head CT/MR volumes thin enough to rebuild a face from (the source documents warn
    that 3D reconstruction can identify a patient); one sentence per series."""
    warnings = []
    for series in case.series.filter(modality__in=("CT", "MR")).order_by("order", "pk"):
        count = series.instances.count()
        ds = _header(series)
        if ds is None or count < VOLUME_IMAGES:
            continue
        words = " ".join(
            str(ds.get(k, ""))
            for k in ("BodyPartExamined", "SeriesDescription", "StudyDescription")
        ).upper()
        if not any(w in words for w in HEAD_WORDS):
            continue
        try:
            thickness = float(ds.get("SliceThickness") or 0) or None
        except (TypeError, ValueError):
            thickness = None
        if thickness is not None and thickness > THIN_MM:
            continue
        size = f"{thickness:g} mm slices" if thickness else "slices of unknown thickness"
        warnings.append(
            f"{series} is a head volume of {count} images with {size}: a face can be "
            "reconstructed from it. Consider publishing only the key slices."
        )
    return warnings
