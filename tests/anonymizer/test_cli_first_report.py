"""The CLI's two-step route: first pass IN -> OUT, then the second pass OUT -> PUB.

The second pass must compare the output with the identifiers of the ORIGINAL file, not
with those of the already de-identified first-pass output: the first pass records each
file's fingerprint (keyed hashes only) in its report, and ``--pass second
--first-report`` takes it. A de-identified file without its fingerprint is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest

from anonymizer.cli import main
from tests.anonymizer.dirty import PLANTED, dirty_ct, write

SECRET = "cli-first-report-secret-0123456789"
# The birth date's digits, where the engine keeps numbers: the verifier sees them only
# when it knows the original identifiers.
BIRTH_DIGITS = PLANTED["PatientBirthDate"]


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    leaky = dirty_ct(1)
    leaky.SeriesNumber = int(BIRTH_DIGITS)
    write(leaky, root / "leaky.dcm")
    write(dirty_ct(2), root / "plain.dcm")
    return root


def _run(*args: str | Path) -> int:
    return main([str(a) for a in args])


def _first(tmp_path: Path, inbox: Path, secret_file: Path) -> dict:
    code = _run("deidentify", inbox, tmp_path / "out", "--report", tmp_path / "r1.json",
                "--secret-file", secret_file, "--no-ocr")  # fmt: skip
    assert code == 0
    return json.loads((tmp_path / "r1.json").read_text())


def _second(tmp_path: Path, secret_file: Path, *extra: str | Path) -> dict[str, dict]:
    code = _run("deidentify", tmp_path / "out", tmp_path / "pub", "--report", tmp_path / "r2.json",
                "--pass", "second", "--secret-file", secret_file, "--no-ocr", *extra)  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "r2.json").read_text())
    return {e["input"]: e for e in report["files"]}


def test_the_first_pass_report_holds_each_files_fingerprint_as_hashes_only(
    tmp_path, inbox, secret_file
):
    report = _first(tmp_path, inbox, secret_file)
    text = json.dumps(report)
    for value in (PLANTED["PatientName"], PLANTED["PatientID"], BIRTH_DIGITS, "ZEBRAFISH"):
        assert value not in text
    for entry in report["files"]:
        fingerprint = entry["fingerprint"]
        assert fingerprint["version"] == 1 and fingerprint["tokens"] and fingerprint["uids"]


def test_the_second_pass_over_first_pass_output_refuses_a_file_without_its_fingerprint(
    tmp_path, inbox, secret_file
):
    _first(tmp_path, inbox, secret_file)
    entries = _second(tmp_path, secret_file)
    assert len(entries) == 2
    for entry in entries.values():
        assert entry["status"] == "quarantined", entry
        assert entry["output"] is None
        assert any("--first-report" in reason for reason in entry["reasons"]), entry["reasons"]
    assert not [p for p in (tmp_path / "pub").glob("*.dcm")]


def test_the_second_pass_with_the_first_report_checks_against_the_original(
    tmp_path, inbox, secret_file
):
    first = _first(tmp_path, inbox, secret_file)
    by_output = {Path(e["output"]).name: e for e in first["files"]}
    entries = _second(tmp_path, secret_file, "--first-report", tmp_path / "r1.json")
    outcome = {by_output[Path(path).name]["input"]: e for path, e in entries.items()}
    leaky = outcome[str(tmp_path / "in" / "leaky.dcm")]
    plain = outcome[str(tmp_path / "in" / "plain.dcm")]
    # The original's birth date in Series Number: caught, not published.
    assert leaky["status"] == "quarantined" and leaky["output"] is None, leaky
    assert any("SeriesNumber" in r for r in leaky["reasons"]), leaky["reasons"]
    assert BIRTH_DIGITS not in json.dumps(leaky)
    assert plain["status"] == "published", plain["reasons"]
    ds = pydicom.dcmread(plain["output"])
    assert ds.PatientIdentityRemoved == "YES"


def test_a_first_report_matches_files_by_their_sop_instance_uid_too(tmp_path, inbox, secret_file):
    _first(tmp_path, inbox, secret_file)
    moved = tmp_path / "moved"
    (tmp_path / "out").rename(moved)
    code = _run("deidentify", moved, tmp_path / "pub", "--report", tmp_path / "r2.json",
                "--pass", "second", "--secret-file", secret_file, "--no-ocr",
                "--first-report", tmp_path / "r1.json")  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "r2.json").read_text())
    assert sorted(e["status"] for e in report["files"]) == ["published", "quarantined"]


def test_a_first_report_that_is_not_one_stops_the_run(tmp_path, inbox, secret_file, capsys):
    _first(tmp_path, inbox, secret_file)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"files": [{"output": "x", "fingerprint": {"version": 9}}]}))
    code = _run("deidentify", tmp_path / "out", tmp_path / "pub", "--report", tmp_path / "r2.json",
                "--pass", "second", "--secret-file", secret_file,
                "--first-report", bad)  # fmt: skip
    assert code == 1
    assert "first-pass report" in capsys.readouterr().err


def test_the_help_documents_the_first_report(capsys):
    with pytest.raises(SystemExit):
        main(["deidentify", "--help"])
    assert "--first-report" in capsys.readouterr().out


def test_an_original_claiming_identity_removed_is_matched_by_its_input_path(
    tmp_path, inbox, secret_file
):
    """dirty_ct falsely says Patient Identity Removed YES: the first report vouches for it."""
    _first(tmp_path, inbox, secret_file)
    code = _run("deidentify", inbox, tmp_path / "pub", "--report", tmp_path / "r2.json",
                "--pass", "second", "--secret-file", secret_file, "--no-ocr",
                "--first-report", tmp_path / "r1.json")  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "r2.json").read_text())
    outcome = {Path(e["input"]).name: e["status"] for e in report["files"]}
    assert outcome == {"leaky.dcm": "quarantined", "plain.dcm": "published"}
