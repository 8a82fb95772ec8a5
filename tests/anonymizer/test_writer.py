"""The fast writer writes exactly the bytes pydicom's own writer does."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest

from anonymizer.header import deidentify_header, rebuild_file_meta
from anonymizer.header.engine import HeaderContext
from anonymizer.keys import Keys
from anonymizer.profile import FIRST_PASS
from anonymizer.writer import write_part10

KEYS = Keys(b"writer-test-secret")
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _instances() -> list[Path]:
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(TEST_FILES.rglob("*.dcm")):
            try:
                ds = pydicom.dcmread(path)
            except Exception:
                continue
            if "SOPClassUID" in ds and "SOPInstanceUID" in ds:
                found.append(path)
    return found


@pytest.mark.parametrize("path", _instances(), ids=lambda p: p.name)
def test_de_identified_files_are_written_byte_for_byte_as_pydicom_writes_them(path, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        deidentify_header(
            ds,
            HeaderContext(keys=Keys(b"writer-test-secret"), profile=FIRST_PASS, pseudonym="TF-W"),
        )
        rebuild_file_meta(ds)
        expected = io.BytesIO()
        pydicom.dcmread(path)  # a second read keeps the first data set's state as is
        ours = tmp_path / "ours.dcm"
        write_part10(ds, ours)
        ds.save_as(expected, enforce_file_format=True)
    assert ours.read_bytes() == expected.getvalue()
