"""The author is warned about head volumes a face can be reconstructed from."""

import pytest
from django.conf import settings

from cases.ingest import files_ingest
from cases.services import case_create
from cases.warnings import face_reconstruction_warnings
from tests.anonymizer.dirty import dirty_ct, write

pytestmark = pytest.mark.django_db


def _case(author, tmp_path, *, description, thickness, count):
    case = case_create(author=author, title="Head")
    paths = []
    for i in range(1, count + 1):
        ds = dirty_ct(i, rows=16, columns=16)
        ds.SeriesDescription, ds.BodyPartExamined, ds.SliceThickness = description, "", thickness
        paths.append(write(ds, settings.INCOMING_ROOT / f"fw-{tmp_path.name}" / f"{i}.dcm"))
    files_ingest(case=case, paths=paths)
    return case


def test_a_thin_head_ct_volume_gets_a_warning(author, tmp_path):
    case = _case(author, tmp_path, description="CT HEAD AXIAL", thickness=0.625, count=24)
    (warning,) = face_reconstruction_warnings(case=case)
    assert "24 images with 0.625 mm slices" in warning and "face" in warning


@pytest.mark.parametrize(
    ("description", "thickness", "count"),
    [("CT CHEST", 0.625, 24), ("CT HEAD", 5.0, 24), ("CT HEAD", 0.625, 5)],
)
def test_thick_short_or_non_head_series_get_none(author, tmp_path, description, thickness, count):
    case = _case(author, tmp_path, description=description, thickness=thickness, count=count)
    assert face_reconstruction_warnings(case=case) == []
