"""The spool writes each instance once, atomically, owner-only, where its series' job
finds it, and names nothing after a UID."""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from pacs_bridge.dicom.spool import (
    MetaInfo,
    Spool,
    read_series_instance_uid,
    read_study_and_series,
    series_uid_from_buffer,
    study_and_series_from_buffer,
)

BUNDLED = [
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "image_dfl.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "JPEG2000.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEG2000-embedded-sequence-delimiter.dcm",
    "rtplan.dcm",
]


def _split(path: str | Dataset) -> tuple[FileMetaDataset, bytes]:
    """The file meta and the encoded data set of a DICOM file."""
    assert isinstance(path, str)
    meta = pydicom.filereader.read_file_meta_info(path)
    raw = Path(path).read_bytes()
    start = 132 + 12 + int.from_bytes(raw[140:144], "little")
    return meta, raw[start:]


@pytest.mark.parametrize("name", BUNDLED)
def test_the_study_and_series_uids_are_found_in_every_transfer_syntax(name: str) -> None:
    path = get_testdata_file(name, download=False)
    assert path is not None
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    expected = (ds.get("StudyInstanceUID"), ds.get("SeriesInstanceUID"))
    meta, raw = _split(path)
    ts = meta.TransferSyntaxUID
    assert series_uid_from_buffer(memoryview(raw), ts) == expected[1]
    assert read_series_instance_uid(io.BytesIO(raw), ts) == expected[1]
    assert study_and_series_from_buffer(memoryview(raw), ts) == expected
    assert read_study_and_series(io.BytesIO(raw), ts) == expected


def _encode(ds: Dataset, ts: str) -> bytes:
    buffer = pydicom.filebase.DicomBytesIO()
    buffer.is_little_endian = ts != ExplicitVRBigEndian
    buffer.is_implicit_VR = ts == ImplicitVRLittleEndian
    write_dataset(buffer, ds)
    return buffer.getvalue()


_texts = st.text(alphabet="ABCDEFGHIJ ^0123456789", max_size=40)
_short = st.text(alphabet="ABCDEFGHIJ0123456789", max_size=16)


@st.composite
def _headers(draw: st.DrawFn) -> Dataset:
    """Data sets with sequences (nested, empty, defined or undefined length) and long
    values before (0020,000E), and sometimes no series UID at all."""
    ds = Dataset()
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDescription = draw(_texts)
    items = []
    for _ in range(draw(st.integers(0, 3))):
        item = Dataset()
        item.CodeValue = draw(_short)
        if draw(st.booleans()):
            inner = Dataset()
            inner.CodeMeaning = draw(_texts)
            item.ConceptNameCodeSequence = Sequence([inner])
        items.append(item)
    ds.ProcedureCodeSequence = Sequence(items)
    ds.PatientName = draw(_texts)
    ds.ImageComments = draw(st.text(alphabet="xyz", max_size=3000))  # LT before the UID
    if draw(st.booleans()):
        ds.StudyInstanceUID = generate_uid()
    if draw(st.booleans()):
        ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = draw(st.integers(0, 999))
    return ds


@settings(max_examples=60, deadline=None)
@given(ds=_headers(), ts=st.sampled_from([ExplicitVRLittleEndian, ImplicitVRLittleEndian]))
def test_the_scanner_agrees_with_pydicom(ds: Dataset, ts: str) -> None:
    for item in ds.ProcedureCodeSequence:
        item.is_undefined_length_sequence_item = bool(len(item.CodeValue) % 2)
    ds["ProcedureCodeSequence"].is_undefined_length = bool(len(ds.PatientName) % 2)
    raw = _encode(ds, ts)
    assert series_uid_from_buffer(memoryview(raw), ts) == ds.get("SeriesInstanceUID")
    assert study_and_series_from_buffer(memoryview(raw), ts) == (
        ds.get("StudyInstanceUID"),
        ds.get("SeriesInstanceUID"),
    )


def test_a_header_longer_than_the_scan_window_falls_back_to_pydicom() -> None:
    ds = Dataset()
    ds.add_new(0x00090010, "LO", "A PRIVATE CREATOR")
    ds.add_new(0x00091010, "OB", b"x" * 100_000)  # 100 KB before the series UID
    ds.StudyInstanceUID = "1.2.3"
    ds.SeriesInstanceUID = "1.2.3.4"
    raw = _encode(ds, ExplicitVRLittleEndian)
    assert series_uid_from_buffer(memoryview(raw), ExplicitVRLittleEndian) == "1.2.3.4"
    assert read_series_instance_uid(io.BytesIO(raw), ExplicitVRLittleEndian) == "1.2.3.4"
    assert read_study_and_series(io.BytesIO(raw), ExplicitVRLittleEndian) == ("1.2.3", "1.2.3.4")


def test_garbage_has_no_series_uid() -> None:
    for raw in (b"", b"\x00" * 7, b"\xff" * 300, os.urandom(2000)):
        assert series_uid_from_buffer(memoryview(raw), ExplicitVRLittleEndian) is None
    assert (
        read_series_instance_uid(io.BytesIO(b"\x78\x9c garbage"), DeflatedExplicitVRLittleEndian)
        is None
    )


def test_the_file_meta_we_write_is_what_pydicom_reads() -> None:
    meta = MetaInfo("1.2.840.10008.5.1.4.1.1.2", "1.2.3.45", ExplicitVRLittleEndian, "ORTHANC")
    encoded = meta.encode()
    assert encoded[:132] == b"\x00" * 128 + b"DICM"
    read = pydicom.dcmread(io.BytesIO(encoded + b"\x08\x00\x05\x00CS\x00\x00")).file_meta
    assert read.MediaStorageSOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert read.MediaStorageSOPInstanceUID == "1.2.3.45"
    assert read.TransferSyntaxUID == ExplicitVRLittleEndian
    assert read.SourceApplicationEntityTitle == "ORTHANC"
    assert read.FileMetaInformationVersion == b"\x00\x01"
    assert read.FileMetaInformationGroupLength == len(encoded) - 144


@pytest.fixture
def ct() -> tuple[FileMetaDataset, bytes, Dataset]:
    path = get_testdata_file("CT_small.dcm", download=False)
    assert path is not None
    meta, raw = _split(path)
    return meta, raw, pydicom.dcmread(path)


def test_store_writes_a_readable_owner_only_file_named_by_hash(
    tmp_path: Path, ct: tuple[FileMetaDataset, bytes, Dataset]
) -> None:
    meta, raw, ds = ct
    spool = Spool(tmp_path / "incoming")
    path = spool.store(meta, raw)
    assert path == spool.path_for(ds.SeriesInstanceUID, ds.SOPInstanceUID)
    assert path.parent.name == Spool.instance_key(ds.SeriesInstanceUID)
    assert len(path.stem) == 32 and ds.SOPInstanceUID not in str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(spool.root.stat().st_mode) == 0o700
    assert pydicom.dcmread(path).PatientName == ds.PatientName
    assert spool.files_for_series(ds.SeriesInstanceUID) == [path]
    assert list(spool.tmp_dir.iterdir()) == []


def test_storing_again_replaces_the_same_file(
    tmp_path: Path, ct: tuple[FileMetaDataset, bytes, Dataset]
) -> None:
    meta, raw, ds = ct
    spool = Spool(tmp_path / "incoming")
    first = spool.store(meta, raw)
    second = spool.store(MetaInfo.from_dataset(meta), io.BytesIO(raw))
    assert first == second
    assert spool.files_for_series(ds.SeriesInstanceUID) == [first]


def test_a_complete_file_is_moved_in_without_a_copy(
    tmp_path: Path, ct: tuple[FileMetaDataset, bytes, Dataset]
) -> None:
    _, _, ds = ct
    spool = Spool(tmp_path / "incoming")
    received = spool.tmp_dir / "rx-1.dcm"
    ds.save_as(received, enforce_file_format=True)
    received.chmod(0o600)  # as the listener makes them
    inode = received.stat().st_ino
    path = spool.store_received_file(
        received, sop_instance_uid=ds.SOPInstanceUID, transfer_syntax_uid=ExplicitVRLittleEndian
    )
    assert path is not None
    assert path.stat().st_ino == inode and not received.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kept = tmp_path / "elsewhere.dcm"
    ds.save_as(kept, enforce_file_format=True)
    assert spool.store(None, kept) == path  # not moved: copied
    assert kept.exists()


def test_a_file_with_its_meta_replaced(
    tmp_path: Path, ct: tuple[FileMetaDataset, bytes, Dataset]
) -> None:
    meta, _, ds = ct
    spool = Spool(tmp_path / "incoming")
    source = tmp_path / "source.dcm"
    ds.save_as(source, enforce_file_format=True)
    new_meta = MetaInfo(meta.MediaStorageSOPClassUID, "9.9.9", ExplicitVRLittleEndian, "ME")
    path = spool.store(new_meta, source)
    assert path.stem == Spool.instance_key("9.9.9")
    assert pydicom.dcmread(path).file_meta.SourceApplicationEntityTitle == "ME"


def test_store_needs_the_file_meta_for_raw_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file_meta is required"):
        Spool(tmp_path / "s").store(None, b"")


def test_old_files_and_empty_series_folders_are_discarded(
    tmp_path: Path, ct: tuple[FileMetaDataset, bytes, Dataset]
) -> None:
    meta, raw, ds = ct
    spool = Spool(tmp_path / "incoming")
    old = spool.store(meta, raw)
    leftover = spool.tmp_dir / "rx-crashed.dcm"
    leftover.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    for path in (old, leftover):
        os.utime(path, (hour_ago, hour_ago))
    other = MetaInfo(meta.MediaStorageSOPClassUID, "1.2.3.999", meta.TransferSyntaxUID)
    fresh = spool.store(other, raw, series_instance_uid="1.2.3.998")
    assert spool.discard_older_than(600) == 2
    assert not old.exists() and not leftover.exists() and fresh.exists()
    assert not spool.series_dir(ds.SeriesInstanceUID).exists()
    assert spool.tmp_dir.exists()


def test_a_received_file_the_admission_check_refuses_is_not_stored(
    tmp_path: Path, ct: tuple[FileMetaDataset, bytes, Dataset]
) -> None:
    _, _, ds = ct
    spool = Spool(tmp_path / "incoming")
    received = spool.tmp_dir / "rx-2.dcm"
    ds.save_as(received, enforce_file_format=True)
    seen: list[tuple[str | None, str | None]] = []

    def admit(study: str | None, series: str | None) -> bool:
        seen.append((study, series))
        return False

    assert (
        spool.store_received_file(
            received,
            sop_instance_uid=ds.SOPInstanceUID,
            transfer_syntax_uid=ExplicitVRLittleEndian,
            admit=admit,
        )
        is None
    )
    assert seen == [(ds.StudyInstanceUID, ds.SeriesInstanceUID)]
    assert received.exists()  # left for the caller (pynetdicom deletes it)
    assert not spool.series_dir(ds.SeriesInstanceUID).exists()


def test_a_received_file_whose_meta_has_no_group_length_is_still_sorted(
    tmp_path: Path, ct: tuple[FileMetaDataset, bytes, Dataset]
) -> None:
    _, raw, ds = ct
    meta = (
        b"\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01"
        + b"\x02\x00\x10\x00UI\x14\x00"
        + ExplicitVRLittleEndian.encode()
        + b"\x00"
    )  # (0002,0001) and (0002,0010) only: no (0002,0000)
    spool = Spool(tmp_path / "incoming")
    received = spool.tmp_dir / "rx-3.dcm"
    received.write_bytes(b"\x00" * 128 + b"DICM" + meta + raw)
    seen: list[tuple[str | None, str | None]] = []
    path = spool.store_received_file(
        received,
        sop_instance_uid=ds.SOPInstanceUID,
        transfer_syntax_uid=ExplicitVRLittleEndian,
        admit=lambda study, series: seen.append((study, series)) is None,
    )
    assert seen == [(ds.StudyInstanceUID, ds.SeriesInstanceUID)]
    assert path == spool.path_for(ds.SeriesInstanceUID, ds.SOPInstanceUID)
