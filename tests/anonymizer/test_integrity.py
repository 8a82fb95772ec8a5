"""Malformed input is refused everywhere: a value that runs past the end of the data, a
data set without its UIDs, an image without the pixel attributes its SOP class requires.

pydicom reads a value whose declared length overruns the file without a word: the rest of
the data set disappears into that value. Such a file must be unreadable (quarantined with
a reason that names the element, never its value), in the engine, the CLI and the
verifier.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pydicom
import pytest
from pydicom import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import BasicTextSRStorage, ImplicitVRLittleEndian

from anonymizer.cli import main
from anonymizer.integrity import (
    IMAGE_SOP_CLASSES,
    MAX_SEQUENCE_DEPTH,
    UnreadableError,
    check_encoded,
    check_integrity,
)
from anonymizer.keys import Keys
from anonymizer.pipeline import Status, first_pass, read_dicom
from anonymizer.verify import fingerprint, verify
from tests.anonymizer.dirty import dirty_ct, to_bytes, write
from tests.anonymizer.verify import phi_fragments

KEYS = Keys(b"integrity-test-secret-0123456789")


def _overrun(data: bytes, header: bytes, declared: int) -> bytes:
    """``data`` with the 2-byte length after ``header`` (tag + explicit VR) set to ``declared``."""
    out = bytearray(data)
    at = out.find(header)
    assert at > 0, header
    struct.pack_into("<H", out, at + 6, declared)
    return bytes(out)


def overrun_study_description(declared: int = 5000) -> tuple[bytes, int]:
    """A small CT whose StudyDescription declares ``declared`` bytes, far past the end of the
    file; returns the bytes and how many bytes follow the value's start."""
    data = to_bytes(dirty_ct(1, rows=16, columns=16))
    header = b"\x08\x00\x30\x10LO"
    at = data.find(header)
    return _overrun(data, header, declared), len(data) - (at + 8)


def _assert_no_values(text: str) -> None:
    for fragment in phi_fragments():
        assert fragment not in text, fragment


# -- the reproduction: pydicom alone swallows the rest of the data set


def test_pydicom_alone_reads_an_overrunning_value_silently() -> None:
    """The bug this module exists for: no error, and the UIDs and pixels are gone."""
    data, _ = overrun_study_description()
    ds = pydicom.dcmread(pydicom.filebase.DicomBytesIO(data))
    assert "PixelData" not in ds and "SeriesInstanceUID" not in ds


def test_a_value_that_runs_past_the_end_of_the_file_is_unreadable() -> None:
    data, available = overrun_study_description(5000)
    with pytest.raises(UnreadableError) as caught:
        read_dicom(data)
    message = str(caught.value)
    assert message == (
        f"the value of (0008,1030) StudyDescription declares 5000 bytes "
        f"but the file ends after {available}"
    )
    _assert_no_values(message)


def test_an_overrunning_value_is_refused_from_a_path_too(tmp_path: Path) -> None:
    data, _ = overrun_study_description(5000)
    path = tmp_path / "overrun.dcm"
    path.write_bytes(data)
    with pytest.raises(UnreadableError, match=r"\(0008,1030\) StudyDescription declares 5000"):
        read_dicom(path)


def test_an_overrunning_value_inside_a_sequence_item_is_unreadable() -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.8.498.77"
    ref.add_new(0x00081160, "IS", "7")  # ReferencedFrameNumber: its length is patched below
    ds.ReferencedPerformedProcedureStepSequence = Sequence([ref])
    data = to_bytes(ds)
    with pytest.raises(UnreadableError, match=r"\(0008,1111\).*item 1 > \(0008,1160\)"):
        read_dicom(_overrun(data, b"\x08\x00\x60\x11IS", 60000))


def test_an_implicit_vr_value_that_overruns_is_unreadable() -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    data = bytearray(to_bytes(ds))
    at = data.find(b"\x08\x00\x30\x10", 300)
    struct.pack_into("<I", data, at + 4, 1 << 20)
    with pytest.raises(UnreadableError, match=r"\(0008,1030\) StudyDescription declares 1048576"):
        read_dicom(bytes(data))


def test_truncated_pixel_data_is_unreadable() -> None:
    data = to_bytes(dirty_ct(1))
    with pytest.raises(UnreadableError, match=r"\(7FE0,0010\) PixelData declares 8192 bytes"):
        read_dicom(data[:-100])


def test_an_intact_file_reads() -> None:
    ds = read_dicom(to_bytes(dirty_ct(1)))
    assert "PixelData" in ds and "SeriesInstanceUID" in ds


# -- UIDs and pixel attributes that the SOP class requires


@pytest.mark.parametrize(
    "keyword", ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"]
)
def test_a_data_set_without_one_of_its_uids_is_unreadable(keyword: str) -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    delattr(ds, keyword)
    with pytest.raises(UnreadableError, match=keyword):
        read_dicom(to_bytes(ds))


def test_an_empty_uid_counts_as_missing() -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    ds.SeriesInstanceUID = ""
    with pytest.raises(UnreadableError, match="SeriesInstanceUID"):
        read_dicom(to_bytes(ds))


@pytest.mark.parametrize(
    "keyword",
    [
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "PixelRepresentation",
        "PixelData",
    ],
)
def test_an_image_without_a_pixel_attribute_its_class_requires_is_unreadable(keyword: str) -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    delattr(ds, keyword)
    with pytest.raises(UnreadableError) as caught:
        check_integrity(ds)
    assert keyword in str(caught.value)
    assert "CT Image Storage" in str(caught.value)


def test_an_image_with_zero_rows_is_unreadable() -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    ds.Rows = 0
    with pytest.raises(UnreadableError, match="Rows is 0"):
        check_integrity(ds)


def test_a_class_that_is_not_an_image_needs_no_pixels_to_be_read() -> None:
    """Not an image: readable here, and refused later for its class, with that reason."""
    ds = dirty_ct(1, rows=16, columns=16)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = BasicTextSRStorage
    del ds.PixelData, ds.Rows
    assert BasicTextSRStorage not in IMAGE_SOP_CLASSES
    check_integrity(ds)


# -- every path quarantines such a file with the reason


def test_first_pass_quarantines_an_overrunning_file_with_the_reason(tmp_path: Path) -> None:
    data, available = overrun_study_description(5000)
    source = tmp_path / "in.dcm"
    source.write_bytes(data)
    result = first_pass(source, tmp_path / "out", keys=KEYS, ocr=False)
    assert result.status is Status.QUARANTINED
    assert result.output is None and result.fingerprint is None
    assert result.reasons == [
        "unreadable: the value of (0008,1030) StudyDescription declares 5000 bytes "
        f"but the file ends after {available}"
    ]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("which", ["first", "second"])
def test_the_cli_quarantines_malformed_files_with_the_reason(tmp_path: Path, which: str) -> None:
    root = tmp_path / "in"
    root.mkdir()
    data, _ = overrun_study_description(5000)
    (root / "overrun.dcm").write_bytes(data)
    no_series = dirty_ct(2, rows=16, columns=16)
    del no_series.SeriesInstanceUID
    write(no_series, root / "no-series.dcm")
    no_pixels = dirty_ct(3, rows=16, columns=16)
    del no_pixels.PixelData
    write(no_pixels, root / "no-pixels.dcm")
    secret = tmp_path / "secret.txt"
    secret.write_text("integrity-cli-secret-0123456789")
    out = tmp_path / "out"
    code = main(
        ["deidentify", str(root), str(out), "--report", str(tmp_path / "r.json"),
         "--pass", which, "--secret-file", str(secret), "--no-ocr"]
    )  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    entries = {Path(e["input"]).name: e for e in report["files"]}
    expected = {
        "overrun.dcm": "declares 5000 bytes but the file ends after",
        "no-series.dcm": "SeriesInstanceUID",
        "no-pixels.dcm": "PixelData",
    }
    for name, words in expected.items():
        entry = entries[name]
        assert entry["status"] == "quarantined", entry
        assert entry["output"] is None
        assert any(r.startswith("unreadable: ") and words in r for r in entry["reasons"]), entry
        _assert_no_values(" ".join(entry["reasons"]))
    assert not [p for p in out.iterdir() if p.suffix == ".dcm"]


# -- the verifier refuses an output that lacks them (it shares no code with the engine)


def _verify(ds: Dataset) -> list[str]:
    verdict = verify(
        to_bytes(ds), fingerprint=fingerprint(dirty_ct(9), KEYS), keys=KEYS, allowlist=None
    )
    return [f"{p.kind} | {p.where} | {p.detail}" for p in verdict.problems]


@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID"])
def test_the_verifier_refuses_an_output_without_its_uids(keyword: str) -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    delattr(ds, keyword)
    problems = _verify(ds)
    assert any(p.startswith("incomplete") and keyword in p for p in problems), problems


@pytest.mark.parametrize("keyword", ["Rows", "Columns", "PixelData"])
def test_the_verifier_refuses_an_image_without_rows_columns_or_pixels(keyword: str) -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    delattr(ds, keyword)
    problems = _verify(ds)
    assert any(p.startswith("incomplete") and keyword in p for p in problems), problems


def test_the_verifier_does_not_ask_a_class_that_is_not_an_image_for_pixels() -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = BasicTextSRStorage
    del ds.PixelData, ds.Rows, ds.Columns
    assert not [p for p in _verify(ds) if p.startswith("incomplete")]


def test_the_verifier_refuses_a_file_whose_value_runs_past_its_end() -> None:
    data, _ = overrun_study_description(5000)
    verdict = verify(data, fingerprint=fingerprint(dirty_ct(9), KEYS), keys=KEYS, allowlist=None)
    lines = [f"{p.kind} | {p.where} | {p.detail}" for p in verdict.problems]
    assert not verdict.ok
    assert any(
        line.startswith("unreadable") and "(0008,1030)" in line and "declares 5000 bytes" in line
        for line in lines
    ), lines
    assert any(line.startswith("incomplete") and "SeriesInstanceUID" in line for line in lines)
    _assert_no_values("\n".join(lines))


# -- sequences nested too deep: refused before pydicom recurses into them

_CONTENT_SEQUENCE = 0x0040A730  # a sequence in the dictionary


def _nested_items(depth: int, *, defined: bool, implicit: bool, vr: bytes = b"SQ") -> bytes:
    """``depth`` sequences, each in the only item of the one outside it (built iteratively:
    pydicom's own writer would recurse as deep)."""
    tag = struct.pack("<HH", _CONTENT_SEQUENCE >> 16, _CONTENT_SEQUENCE & 0xFFFF)
    head = tag if implicit else tag + vr + b"\0\0"
    undefined = b"\xff\xff\xff\xff"
    if not defined:
        opening = head + undefined + b"\xfe\xff\x00\xe0" + undefined
        closing = b"\xfe\xff\x0d\xe0\0\0\0\0" + b"\xfe\xff\xdd\xe0\0\0\0\0"
        return opening * depth + closing * depth
    inner = b""
    for _ in range(depth):
        item = b"\xfe\xff\x00\xe0" + struct.pack("<I", len(inner)) + inner
        inner = head + struct.pack("<I", len(item)) + item
    return inner


def nested_sequences(depth: int, *, defined: bool = False, implicit: bool = False) -> bytes:
    """A small CT with ``depth`` sequences nested in its Content Sequence, placed just
    before the pixel data (defined or undefined lengths, explicit or implicit VR)."""
    ds = dirty_ct(1, rows=16, columns=16)
    if implicit:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    data = to_bytes(ds)
    at = data.rfind(b"\xe0\x7f\x10\x00")
    return data[:at] + _nested_items(depth, defined=defined, implicit=implicit) + data[at:]


def test_pydicom_alone_recurses_out_of_stack_on_deeply_nested_sequences() -> None:
    """The bug this check exists for: 2,000 nested sequences end in a RecursionError."""
    with pytest.raises(RecursionError):
        pydicom.dcmread(pydicom.filebase.DicomBytesIO(nested_sequences(2000)))


@pytest.mark.parametrize(
    ("defined", "implicit"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_sequences_nested_2000_deep_are_unreadable_with_the_depth(
    defined: bool, implicit: bool
) -> None:
    data = nested_sequences(2000, defined=defined, implicit=implicit)
    with pytest.raises(UnreadableError, match=r"^sequences are nested 2000 deep; at most 16"):
        read_dicom(data)


def test_nesting_is_refused_from_a_path_too(tmp_path: Path) -> None:
    path = tmp_path / "nested.dcm"
    path.write_bytes(nested_sequences(5000))
    with pytest.raises(UnreadableError, match="nested 5000 deep"):
        read_dicom(path)
    path.unlink()  # the memory map was released: the file can go


def test_sequences_hidden_in_un_elements_count_too() -> None:
    """UN of undefined length, or UN whose tag is a sequence, is read as one (PS3.5 6.2.2)."""
    ds = dirty_ct(1, rows=16, columns=16)
    data = to_bytes(ds)
    at = data.rfind(b"\xe0\x7f\x10\x00")
    # An explicit UN whose items are encoded implicit VR little endian, as pydicom reads them.
    inner = _nested_items(40, defined=True, implicit=True)
    un = b"\x40\x00\x30\xa7UN\0\0" + struct.pack("<I", len(inner) - 8) + inner[8:]
    with pytest.raises(UnreadableError, match="nested 40 deep"):
        check_encoded(data[:at] + un + data[at:])


def test_nesting_up_to_the_limit_reads() -> None:
    ds = read_dicom(nested_sequences(MAX_SEQUENCE_DEPTH))
    assert "PixelData" in ds and "ContentSequence" in ds
    with pytest.raises(UnreadableError, match=f"nested {MAX_SEQUENCE_DEPTH + 1} deep"):
        read_dicom(nested_sequences(MAX_SEQUENCE_DEPTH + 1, defined=True))


def test_encapsulated_pixel_data_is_not_taken_for_nesting() -> None:
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    ds = dirty_ct(1, rows=16, columns=16)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([b"\xff\xd8" + b"\xfe\xff\x00\xe0" * 50 + b"\xff\xd9"] * 20)
    ds["PixelData"].is_undefined_length = True
    check_encoded(to_bytes(ds))


def test_a_deflated_data_set_is_inflated_for_the_check() -> None:
    import zlib

    from pydicom.uid import DeflatedExplicitVRLittleEndian

    plain = nested_sequences(300)
    meta_end = plain.find(b"\x08\x00\x05\x00")  # the data set starts after the file meta
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(plain[meta_end:]) + deflater.flush()
    at = plain.find(b"\x02\x00\x10\x00UI")  # the file meta's Transfer Syntax UID
    (old,) = struct.unpack_from("<H", plain, at + 6)
    uid = DeflatedExplicitVRLittleEndian.encode()
    syntax = b"\x02\x00\x10\x00UI" + struct.pack("<H", len(uid)) + uid
    data = plain[:at] + syntax + plain[at + 8 + old : meta_end] + body
    with pytest.raises(UnreadableError, match="nested 300 deep"):
        check_encoded(data)


def test_real_objects_nest_well_under_the_limit() -> None:
    """pydicom's own test files (RT plans and doses, SR, enhanced multi-frame, waveforms...)
    nest at most 3 levels; every one passes the check."""
    import pydicom.data

    files = sorted((Path(pydicom.data.__file__).parent / "test_files").rglob("*.dcm"))
    assert len(files) > 50
    refused = []
    for path in files:
        try:
            check_encoded(path.read_bytes())
        except UnreadableError as exc:
            refused.append(f"{path.name}: {exc}")
    assert all("declares" in reason for reason in refused), refused  # truncated on purpose


def test_a_length_of_4_gb_is_refused_before_pydicom_allocates_it(monkeypatch) -> None:
    """pydicom asks the file for the declared length at once (and so allocates it): a
    small file that declares 4 GB is refused from its bytes, pydicom never called."""
    data = bytearray(to_bytes(dirty_ct(1, rows=16, columns=16)))
    at = data.rfind(b"\xe0\x7f\x10\x00OW\0\0")
    struct.pack_into("<I", data, at + 8, 0xFFFFFFF0)

    def never(*args, **kwargs):
        raise AssertionError("pydicom read the file")

    monkeypatch.setattr(pydicom, "dcmread", never)
    with pytest.raises(UnreadableError) as caught:
        read_dicom(bytes(data))
    assert str(caught.value) == (
        "the value of (7FE0,0010) PixelData declares 4294967280 bytes "
        f"but the file ends after {len(data) - at - 12}"
    )


def test_a_huge_length_inside_a_sequence_read_from_the_file_is_refused_with_its_path() -> None:
    ds = dirty_ct(1, rows=16, columns=16)
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref.add_new(0x00081160, "IS", "7")
    ds.ReferencedPerformedProcedureStepSequence = Sequence([ref])
    # Undefined length: pydicom reads the items straight from the file, not from a value.
    ds["ReferencedPerformedProcedureStepSequence"].is_undefined_length = True
    data = _overrun(to_bytes(ds), b"\x08\x00\x60\x11IS", 60000)
    with pytest.raises(
        UnreadableError, match=r"^the value of \(0008,1111\).* item 1 > \(0008,1160\)"
    ):
        check_encoded(data)


def test_an_image_too_large_to_check_is_refused_before_decoding(tmp_path):
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    from anonymizer.pipeline import read_dicom
    from tests.anonymizer.dirty import dirty_ct, write

    ds = dirty_ct(1, rows=32, columns=32)
    ds.Rows = ds.Columns = 9000  # 81 megapixels, declared by a small compressed file
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    with pytest.raises(UnreadableError, match="81 megapixels"):
        read_dicom(write(ds, tmp_path / "huge.dcm"))
