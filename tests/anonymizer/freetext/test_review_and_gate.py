"""Free text through the passes: listed for review, removed by the CLI, written as the
author accepted it, and blocked at publish when it looks identifying."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pydicom
from pydicom import Dataset
from pydicom.datadict import dictionary_VR

from anonymizer.cli import main
from anonymizer.freetext import FREE_TEXT_KEYWORDS, review_values
from anonymizer.freetext.review import NOT_FREE_TEXT_KEYWORDS
from anonymizer.keys import Keys
from anonymizer.pipeline import FirstPassResult, Status, first_pass, second_pass
from anonymizer.profile.allowlist import SECOND_PASS_ALLOWLIST_KEYWORDS
from tests.anonymizer.dirty import dirty_ct, write

KEYS = Keys(b"freetext-test-secret")
NAMED = "AX T2 Hildegard"  # a first name that appears nowhere else in the header
CODED = "CT CHEST QZX4471"


def test_free_text_keywords_cover_every_text_attribute_of_the_allowlist():
    text_vrs = {"LO", "SH", "ST", "LT", "UT", "UC", "PN"}
    allowed_text = {k for k in SECOND_PASS_ALLOWLIST_KEYWORDS if dictionary_VR(k) in text_vrs}
    assert set(FREE_TEXT_KEYWORDS) <= set(SECOND_PASS_ALLOWLIST_KEYWORDS)
    assert allowed_text == set(FREE_TEXT_KEYWORDS) | set(NOT_FREE_TEXT_KEYWORDS)


def test_review_lists_each_present_free_text_value_with_its_findings():
    ds = Dataset()
    ds.StudyDescription = "CT CHEST"
    ds.SeriesDescription = NAMED
    ds.ConvolutionKernel = "FC13"  # kernels are codes by nature
    ds.Modality = "CT"
    review = {r["keyword"]: r for r in review_values(ds)}
    assert set(review) == {"StudyDescription", "SeriesDescription", "ConvolutionKernel"}
    assert review["StudyDescription"]["findings"] == []
    assert review["ConvolutionKernel"]["findings"] == []
    (finding,) = review["SeriesDescription"]["findings"]
    assert finding["kind"] == "person-name"
    assert NAMED[finding["start"] : finding["end"]] == "Hildegard"


def _source(tmp_path: Path, **values: str) -> Path:
    ds = dirty_ct(1)
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return write(ds, tmp_path / "in" / "ct.dcm")


def _first(tmp_path: Path, *, remove: bool, **values: str) -> FirstPassResult:
    source = _source(tmp_path, **values)
    return first_pass(source, tmp_path / "first", keys=KEYS, ocr=False, remove_flagged_text=remove)


def test_the_app_first_pass_keeps_flagged_text_for_the_author_and_lists_it(tmp_path):
    first = _first(tmp_path, remove=False, SeriesDescription=NAMED)
    assert first.output is not None, first.reasons
    assert pydicom.dcmread(first.output).SeriesDescription == NAMED
    entry = next(r for r in first.free_text if r["keyword"] == "SeriesDescription")
    assert [f["kind"] for f in entry["findings"]] == ["person-name"]
    assert first.removed_text == []


def test_the_cli_first_pass_removes_flagged_text_and_says_so_without_the_value(tmp_path):
    first = _first(tmp_path, remove=True, SeriesDescription=NAMED, StudyDescription=CODED)
    assert first.output is not None, first.reasons
    ds = pydicom.dcmread(first.output)
    assert "SeriesDescription" not in ds and "StudyDescription" not in ds
    assert sorted(first.removed_text) == ["SeriesDescription", "StudyDescription"]
    assert "SeriesDescription removed: it looks like it contains a person's name" in first.reasons
    study = "StudyDescription removed: it looks like it contains an ID-like code"
    assert any(reason.startswith(study) for reason in first.reasons)
    report = json.dumps(first.to_report())
    assert "Hildegard" not in report and "QZX4471" not in report


def _second(tmp_path: Path, first: FirstPassResult, **kwargs):
    assert first.output is not None and first.fingerprint is not None
    assert first.reidentification is not None
    return second_pass(
        first.output, tmp_path / "pub", keys=KEYS, fingerprint=first.fingerprint,
        pseudonym=first.reidentification["pseudonym"], **kwargs,
    )  # fmt: skip


def test_publish_blocks_flagged_text_the_author_did_not_accept(tmp_path):
    first = _first(tmp_path, remove=False, SeriesDescription=NAMED)
    second = _second(tmp_path, first)
    assert second.status is Status.QUARANTINED and second.output is None
    (reason,) = [r for r in second.reasons if r.startswith("Free text")]
    assert "SeriesDescription" in reason and "person's name" in reason
    assert "Hildegard" not in " ".join(second.reasons)


def test_publish_writes_the_accepted_text_and_passes(tmp_path):
    first = _first(tmp_path, remove=False, SeriesDescription=NAMED)
    second = _second(tmp_path, first, texts={"SeriesDescription": "AX T2 brain"})
    assert second.status is Status.PUBLISHED, second.reasons
    assert pydicom.dcmread(second.output).SeriesDescription == "AX T2 brain"


def test_an_empty_accepted_text_removes_the_element(tmp_path):
    first = _first(tmp_path, remove=False, SeriesDescription=NAMED)
    second = _second(tmp_path, first, texts={"SeriesDescription": ""})
    assert second.status is Status.PUBLISHED, second.reasons
    assert "SeriesDescription" not in pydicom.dcmread(second.output)


def test_a_value_the_author_accepted_as_it_is_passes_the_gate(tmp_path):
    """The author looked and decided ("Wilson" the eponym, "T2 Hildegard" a protocol):
    the gate accepts exactly that value."""
    first = _first(tmp_path, remove=False, SeriesDescription=NAMED)
    second = _second(tmp_path, first, texts={"SeriesDescription": NAMED})
    assert second.status is Status.PUBLISHED, second.reasons


def test_the_cli_report_says_which_text_was_removed(tmp_path):
    source = _source(tmp_path, SeriesDescription=NAMED)
    report = tmp_path / "report.json"
    secret = tmp_path / "secret.txt"
    secret.write_text("freetext-cli-secret-0123456789")
    args = [source.parent, tmp_path / "out", "--report", report, "--secret-file", secret]
    assert main(["deidentify", *map(str, args), "--no-ocr"]) == 0
    (entry,) = json.loads(report.read_text())["files"]
    assert entry["removed_text"] == ["SeriesDescription"]
    assert "Hildegard" not in report.read_text()
    (out,) = (tmp_path / "out").glob("*.dcm")
    assert "SeriesDescription" not in pydicom.dcmread(out)


def test_the_free_text_gate_loads_none_of_the_engine_and_no_django():
    code = (
        "import sys, anonymizer.verify.freetext_gate\n"
        "bad = [m for m in sys.modules if m.startswith(('anonymizer.header', "
        "'anonymizer.pixels', 'anonymizer.profile', 'anonymizer.pipeline', 'django'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3])
