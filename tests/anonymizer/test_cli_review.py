"""The CLI fails closed: `--pass second` publishes an image flagged for burned-in text only
when the regions file gives it regions or marks it reviewed; otherwise it stays
needs-review, with the reason in the report, and no file is written for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anonymizer.cli import main
from tests.anonymizer.dirty import PLANTED_UIDS, dirty_ct, dirty_us_cine, write

CINE_UID = f"{PLANTED_UIDS['SeriesInstanceUID']}.900"  # dirty_us_cine's original SOP UID


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    ct, cine = dirty_ct(1), dirty_us_cine()
    for original in (ct, cine):
        # Originals as a scanner writes them: a file claiming Patient Identity Removed YES
        # needs the first pass's report (test_cli_first_report.py).
        del original.PatientIdentityRemoved
    write(ct, root / "ct.dcm")  # not flagged
    write(cine, root / "us" / "cine.dcm")  # flagged: Burned In Annotation YES
    return root


def _second_pass(tmp_path: Path, inbox: Path, regions: dict[str, object]) -> dict[str, dict]:
    secret = tmp_path / "secret.txt"
    secret.write_text("cli-review-secret-0123456789")
    regions_file = tmp_path / "regions.json"
    regions_file.write_text(json.dumps(regions))
    code = main(
        ["deidentify", str(inbox), str(tmp_path / "out"), "--report", str(tmp_path / "r.json"),
         "--pass", "second", "--regions", str(regions_file), "--secret-file", str(secret)]
    )  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    return {Path(e["input"]).name: e for e in report["files"]}


def _published_files(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "out").iterdir() if p.suffix == ".dcm"]


@pytest.mark.parametrize(
    "regions",
    [
        {},  # the regions file does not mention it
        {"us/cine.dcm": {"regions": []}},  # no regions, not reviewed
        {"us/cine.dcm": {"regions": [], "crop": {"x": 0, "y": 20, "width": 160, "height": 100}}},
        {"us/cine.dcm": {"regions": [], "reviewed": False}},
        {"other.dcm": {"reviewed": True}},  # another file's entry
    ],
    ids=["absent", "empty", "crop-only", "reviewed-false", "other-file"],
)
def test_a_flagged_image_without_regions_or_review_is_not_published(tmp_path, inbox, regions):
    entries = _second_pass(tmp_path, inbox, regions)
    cine = entries["cine.dcm"]
    assert cine["status"] == "needs-review", cine
    assert cine["output"] is None
    assert any('"reviewed": true' in reason for reason in cine["reasons"]), cine["reasons"]
    # the clean CT needs nothing from the regions file
    assert entries["ct.dcm"]["status"] == "published", entries["ct.dcm"]
    assert len(_published_files(tmp_path)) == 1


@pytest.mark.parametrize("key", ["us/cine.dcm", CINE_UID], ids=["by-path", "by-original-uid"])
def test_a_flagged_image_marked_reviewed_is_published_without_regions(tmp_path, inbox, key):
    entries = _second_pass(tmp_path, inbox, {key: {"reviewed": True}})
    cine = entries["cine.dcm"]
    assert cine["status"] == "published", cine["reasons"]
    assert cine["output"] is not None and Path(cine["output"]).exists()
    assert len(_published_files(tmp_path)) == 2


def test_a_flagged_image_given_regions_is_published(tmp_path, inbox):
    regions = {"us/cine.dcm": {"regions": [{"x": 0, "y": 0, "width": 160, "height": 20}]}}
    cine = _second_pass(tmp_path, inbox, regions)["cine.dcm"]
    assert cine["status"] == "published", cine["reasons"]


def test_reviewed_must_be_true_or_false(tmp_path, inbox, capsys):
    regions_file = tmp_path / "regions.json"
    regions_file.write_text(json.dumps({"us/cine.dcm": {"reviewed": "yes"}}))
    code = main(
        ["deidentify", str(inbox), str(tmp_path / "out"), "--report", str(tmp_path / "r.json"),
         "--pass", "second", "--regions", str(regions_file)]
    )  # fmt: skip
    assert code == 1
    assert '"reviewed" must be true or false' in capsys.readouterr().err


def test_the_help_documents_the_reviewed_field(capsys):
    with pytest.raises(SystemExit):
        main(["deidentify", "--help"])
    assert '"reviewed": true' in capsys.readouterr().out
