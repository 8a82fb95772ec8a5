"""The command line: every input gets a status, outputs carry no identifier, bad input
is reported, not fatal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import Dataset
from pydicom.uid import BasicTextSRStorage, MediaStorageDirectoryStorage

from anonymizer.cli import main
from tests.anonymizer.dirty import (
    PLANTED_UIDS,
    dirty_ct,
    dirty_us_cine,
    planted_byte_patterns,
    to_bytes,
    write,
)

SECRET = "cli-test-secret-0123456789"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """A folder as a person would have it: good files, and bad ones."""
    root = tmp_path / "in"
    for i in (1, 2, 3):
        write(dirty_ct(i), root / "ZEBRAFISH_QUENTIN" / f"slice{i}.dcm")
    write(dirty_us_cine(), root / "us" / "cine.dcm")
    sr = dirty_ct(50)
    sr.SOPClassUID = sr.file_meta.MediaStorageSOPClassUID = BasicTextSRStorage
    write(sr, root / "report.dcm")
    dicomdir = dirty_ct(51)
    dicomdir.SOPClassUID = dicomdir.file_meta.MediaStorageSOPClassUID = MediaStorageDirectoryStorage
    write(dicomdir, root / "DICOMDIR")
    (root / "empty.dcm").write_bytes(b"")
    (root / "notes.txt").write_text("not a DICOM file\n")
    (root / "truncated.dcm").write_bytes(to_bytes(dirty_ct(9))[:3000])
    return root


def _run(*args: str | Path) -> int:
    return main([str(a) for a in args])


def _report(path: Path) -> dict[str, dict]:
    report = json.loads(path.read_text())
    return {Path(e["input"]).name: e for e in report["files"]}


def test_first_pass_gives_every_input_a_status_and_leaks_nothing(inbox, tmp_path, secret_file):
    out = tmp_path / "out"
    code = _run(
        "deidentify", inbox, out, "--report", tmp_path / "r.json", "--secret-file", secret_file
    )
    assert code == 0
    entries = _report(tmp_path / "r.json")
    assert len(entries) == 9
    for name in ("slice1.dcm", "slice2.dcm", "slice3.dcm"):
        assert entries[name]["status"] == "clean", entries[name]
    assert entries["cine.dcm"]["status"] == "needs-review"
    assert entries["cine.dcm"]["reasons"]
    for name in ("report.dcm", "DICOMDIR", "empty.dcm", "notes.txt", "truncated.dcm"):
        assert entries[name]["status"] == "quarantined", entries[name]
        assert entries[name]["output"] is None
        assert entries[name]["reasons"]
    assert "Structured Report" in " ".join(entries["report.dcm"]["reasons"])
    assert "empty" in entries["empty.dcm"]["reasons"][0]
    assert "not a DICOM file" in entries["notes.txt"]["reasons"][0]

    outputs = sorted(out.iterdir())
    assert len(outputs) == 4  # quarantined inputs produce no output file
    for path in outputs:
        assert path.name.startswith("2.25.")  # named by the new UID, never the input
        data = path.read_bytes()
        for pattern in planted_byte_patterns():
            assert pattern not in data, (path.name, pattern)
            assert pattern.lower() not in data, (path.name, pattern)
        ds = pydicom.dcmread(path)
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.StudyInstanceUID != PLANTED_UIDS["StudyInstanceUID"]


def test_second_pass_burns_the_regions_into_the_pixels(inbox, tmp_path, secret_file):
    # An original as a scanner writes it (one claiming Patient Identity Removed YES needs
    # the first pass's report: test_cli_first_report.py).
    cine = dirty_us_cine()
    del cine.PatientIdentityRemoved
    write(cine, inbox / "us" / "cine.dcm")
    regions = tmp_path / "regions.json"
    regions.write_text(
        json.dumps(
            {
                "us/cine.dcm": {
                    "regions": [{"x": 0, "y": 0, "width": 160, "height": 20, "frames": "all"}],
                    "crop": {"x": 0, "y": 10, "width": 150, "height": 100},
                }
            }
        )
    )
    out = tmp_path / "out"
    code = _run(
        "deidentify", inbox, out, "--report", tmp_path / "r.json", "--pass", "second",
        "--regions", regions, "--secret-file", secret_file,
    )  # fmt: skip
    assert code == 0
    entry = _report(tmp_path / "r.json")["cine.dcm"]
    assert entry["status"] == "published", entry["reasons"]
    ds = pydicom.dcmread(entry["output"])
    assert (ds.Rows, ds.Columns) == (100, 150)
    frames = ds.pixel_array
    # The box was rows 0-19 of the original; after cropping 10 rows, rows 0-9 remain.
    assert np.all(frames[:, :10] == 0)
    assert np.all(frames[:, 10:] == 90)
    assert ds.BurnedInAnnotation == "NO"
    assert not any(elem.tag.is_private for elem in ds.iterall())


def test_two_workers_give_the_same_outputs_as_one(inbox, tmp_path, secret_file):
    for jobs in ("1", "2"):
        _run(
            "deidentify", inbox, tmp_path / f"out{jobs}", "--report", tmp_path / f"r{jobs}.json",
            "--jobs", jobs, "--secret-file", secret_file, "--no-ocr",
        )  # fmt: skip
    one = sorted(p.name for p in (tmp_path / "out1").iterdir())
    two = sorted(p.name for p in (tmp_path / "out2").iterdir())
    assert one == two and len(one) == 4
    for name in one:
        assert (tmp_path / "out1" / name).read_bytes() == (tmp_path / "out2" / name).read_bytes()


def test_a_run_that_cannot_proceed_exits_non_zero_with_a_message(tmp_path, capsys, secret_file):
    code = _run(
        "deidentify", tmp_path / "missing", tmp_path / "out", "--report", tmp_path / "r.json"
    )
    assert code == 1
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "in").mkdir()
    (tmp_path / "bad.json").write_text("{not json")
    code = _run(
        "deidentify", tmp_path / "in", tmp_path / "out", "--report", tmp_path / "r.json",
        "--regions", tmp_path / "bad.json", "--secret-file", secret_file,
    )  # fmt: skip
    assert code == 1
    assert "regions file" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["deidentify", "describe"])
def test_every_subcommand_explains_itself_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "example:" in capsys.readouterr().out


def test_describe_lists_every_table_row_and_the_allowlist(capsys):
    assert main(["describe", "--pass", "second", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["attributes"]) > 600
    assert "PixelData" in doc["allowlist"]
    patient_name = next(a for a in doc["attributes"] if a["keyword"] == "PatientName")
    assert patient_name["action"] == "Z"


def test_a_dataset_without_pixels_or_uids_is_quarantined_not_fatal(tmp_path, secret_file):
    root = tmp_path / "in"
    root.mkdir()
    ds = Dataset()
    ds.PatientName = "NOUID^PATIENT"
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(root / "nouid.dcm", enforce_file_format=False)
    code = _run(
        "deidentify", root, tmp_path / "out", "--report", tmp_path / "r.json",
        "--secret-file", secret_file,
    )  # fmt: skip
    assert code == 0
    entry = _report(tmp_path / "r.json")["nouid.dcm"]
    assert entry["status"] == "quarantined" and entry["reasons"]


def test_no_value_of_a_malformed_file_reaches_the_log_or_warnings(
    tmp_path, secret_file, caplog, recwarn
):
    """pydicom quotes malformed values in warnings: the engine silences them."""
    ds = dirty_ct(1)
    ds.add_new(0x00081155, "UI", "1.2.3.ZEBRAFISH")  # an invalid UID quoting a name
    root = tmp_path / "in"
    write(ds, root / "bad-uid.dcm")
    caplog.clear()
    recwarn.clear()
    caplog.set_level("DEBUG")
    code = _run("deidentify", root, tmp_path / "out", "--report", tmp_path / "r.json",
                "--secret-file", secret_file)  # fmt: skip
    assert code == 0
    assert "ZEBRAFISH" not in caplog.text
    assert not any("ZEBRAFISH" in str(w.message) for w in recwarn)
