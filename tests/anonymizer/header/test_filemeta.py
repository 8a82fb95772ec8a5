"""The file meta is rebuilt from scratch; every native syntax leaves as Explicit VR LE."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
)

from anonymizer.header.filemeta import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    output_transfer_syntax,
    rebuild_file_meta,
)

from . import reread, run


def _save(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def test_only_the_required_elements_and_a_zero_preamble_remain():
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = "1.2.3.999"
    meta.ImplementationVersionName = "LEAKY_PACS"
    meta.SourceApplicationEntityTitle = "SOURCEAET"
    meta.SendingApplicationEntityTitle = "SENDINGAET"
    meta.ReceivingApplicationEntityTitle = "RECEIVEAET"
    meta.SourcePresentationAddress = "http://10.0.0.7/"
    meta.PrivateInformationCreatorUID = "1.2.3.888"
    meta.PrivateInformation = b"SECRET"
    ds = FileDataset("", Dataset(), file_meta=meta, preamble=b"PREAMBLE SECRET".ljust(128, b"\0"))
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "2.25.42"
    rebuild_file_meta(ds)
    data = _save(ds)
    for secret in (
        b"SOURCEAET",
        b"SENDINGAET",
        b"RECEIVEAET",
        b"10.0.0.7",
        b"SECRET",
        b"1.2.3.4.5",
    ):
        assert secret not in data
    assert data[:128] == b"\0" * 128
    result = reread(data).file_meta
    assert sorted(elem.keyword for elem in result) == sorted(
        [
            "FileMetaInformationGroupLength",
            "FileMetaInformationVersion",
            "MediaStorageSOPClassUID",
            "MediaStorageSOPInstanceUID",
            "TransferSyntaxUID",
            "ImplementationClassUID",
            "ImplementationVersionName",
        ]
    )
    assert result.MediaStorageSOPInstanceUID == "2.25.42"
    assert result.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
    assert result.ImplementationVersionName == IMPLEMENTATION_VERSION_NAME


def test_the_implementation_class_uid_is_a_valid_2_25_uid():
    from pydicom.uid import UID

    assert IMPLEMENTATION_CLASS_UID.startswith("2.25.")
    assert UID(IMPLEMENTATION_CLASS_UID).is_valid
    assert len(IMPLEMENTATION_CLASS_UID) <= 64


@pytest.mark.parametrize(
    ("requested", "written"),
    [
        (ImplicitVRLittleEndian, ExplicitVRLittleEndian),
        (ExplicitVRLittleEndian, ExplicitVRLittleEndian),
        (DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian),
        (ExplicitVRBigEndian, ExplicitVRLittleEndian),
        (JPEGBaseline8Bit, JPEGBaseline8Bit),
        (JPEG2000Lossless, JPEG2000Lossless),
        (RLELossless, RLELossless),
        ("1.2.3.4", ExplicitVRLittleEndian),  # not a transfer syntax
    ],
)
def test_output_transfer_syntax(requested, written):
    assert output_transfer_syntax(requested) == written


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_implicit.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_expb.dcm",
        "image_dfl.dcm",
        "SC_rgb_small_odd_big_endian.dcm",
        "rtdose_expb.dcm",
    ],
)
def test_native_inputs_are_written_as_explicit_vr_little_endian(name):
    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not bundled with this pydicom")
    ds = dcmread(path)
    expected = ds.pixel_array.copy()
    rows = ds.Rows
    run(ds)
    rebuild_file_meta(ds)
    result = reread(_save(ds))
    assert result.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert result.Rows == rows
    np.testing.assert_array_equal(result.pixel_array, expected)
    assert result.PatientIdentityRemoved == "YES"


def test_encapsulated_pixel_data_keeps_its_syntax():
    path = get_testdata_file("JPEG2000.dcm", download=False)
    if path is None:
        pytest.skip("JPEG2000.dcm is not bundled with this pydicom")
    ds = dcmread(path)
    syntax = ds.file_meta.TransferSyntaxUID
    rebuild_file_meta(ds)
    assert ds.file_meta.TransferSyntaxUID == syntax


def test_native_pixel_data_cannot_be_labelled_compressed():
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "2.25.1"
    ds.PixelData = b"\0" * 16
    with pytest.raises(ValueError, match="native pixel data"):
        rebuild_file_meta(ds, transfer_syntax=JPEGBaseline8Bit)


def test_a_data_set_without_sop_uids_is_refused():
    with pytest.raises(ValueError, match="SOP Class UID"):
        rebuild_file_meta(Dataset())
