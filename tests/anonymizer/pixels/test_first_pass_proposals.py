"""What the first pass records about burned-in text: boxes and labels, never the text."""

from __future__ import annotations

import json
from pathlib import Path

from anonymizer.keys import Keys
from anonymizer.pipeline import Status, first_pass
from anonymizer.pixels import detect, textdetect
from anonymizer.verify import fingerprint

from .synthetic import ultrasound_with_text

KEYS = Keys(b"first-pass-proposals-secret")


def _ultrasound(tmp_path: Path) -> Path:
    ds, _ = ultrasound_with_text(
        1, texts=(("DOE^JOHN", 20, 12, None), ("ID DEMO-0003", 300, 12, None))
    )
    ds.PatientName = "DOE^JOHN"
    ds.PatientID = "DEMO-0003"
    ds.AccessionNumber = "DEMOACC0003"
    path = tmp_path / "us.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_proposals_hold_positions_and_labels_but_no_recognised_text(tmp_path, tesseract):
    result = first_pass(_ultrasound(tmp_path), tmp_path / "out", keys=KEYS)
    assert result.status is Status.NEEDS_REVIEW
    assert result.proposed_regions
    stored = json.dumps(result.proposed_regions) + json.dumps(result.to_report())
    for word in ("DOE", "JOHN", "0003"):
        assert word not in stored
    for region in result.proposed_regions:
        assert set(region) == {
            "id", "frame", "x", "y", "width", "height", "kind", "matches", "confidence"
        }  # fmt: skip
    assert len({r["id"] for r in result.proposed_regions}) == len(result.proposed_regions)
    labels = {r["matches"] for r in result.proposed_regions}
    assert "PatientName" in labels


def test_a_patient_id_line_is_labelled_patient_id_not_accession_number(tmp_path, tesseract):
    """The ID shares its digits with the accession number; the label names the patient's ID."""
    result = first_pass(_ultrasound(tmp_path), tmp_path / "out", keys=KEYS)
    labels = [r["matches"] for r in result.proposed_regions]
    assert "PatientID" in labels
    assert "AccessionNumber" not in labels


def test_shared_tokens_belong_to_the_patients_own_attribute():
    from pydicom import Dataset

    ds = Dataset()
    ds.AccessionNumber = "DEMOACC 0003"
    ds.PatientID = "DEMO-0003"
    fp = fingerprint(ds, KEYS).with_ocr(KEYS, [(None, 0, 0, 10, 10, "ID DEMO-0003")])
    assert [region.source for region in fp.text_regions] == ["PatientID"]


def test_without_the_detection_model_the_image_needs_review_by_eye(tmp_path, monkeypatch):
    def unavailable(*args, **kwargs):
        raise textdetect.DetectorUnavailable("the text detection model is missing")

    monkeypatch.setattr(detect, "detect_text", unavailable)
    result = first_pass(_ultrasound(tmp_path), tmp_path / "out", keys=KEYS)
    assert result.status is Status.NEEDS_REVIEW
    assert any("text detector is not available" in reason for reason in result.reasons)
