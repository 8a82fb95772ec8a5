"""Our Storage SCP keeps what it receives, says so in the C-STORE status, and survives
anything a sender throws at it."""

from __future__ import annotations

import errno
import stat
import subprocess
import sys
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)
from pynetdicom import AE, _config

from pacs_bridge.dicom import listener
from pacs_bridge.dicom.contexts import VERIFICATION
from pacs_bridge.dicom.listener import handle_store
from pacs_bridge.dicom.spool import Spool
from tests.pacs_bridge.dicom.conftest import HOST, LISTENER_AET, RunningListener, stop_server
from tests.peers import free_port

PRIVATE_SOP_CLASS = "1.2.826.0.1.3680043.8.498.424242"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"


def _dataset(sop_class: str = CTImageStorage, frames: int = 1, size: int = 16) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "TEST^LISTENER"
    ds.Modality = "OT"
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = np.zeros((frames, size, size), np.uint8).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


@pytest.fixture
def sender() -> AE:
    ae = AE("SENDER")
    ae.acse_timeout = ae.dimse_timeout = 10
    return ae


def _send(ae: AE, port: int, payload: Dataset | Path, sop_class: str = CTImageStorage) -> int:
    ae.requested_contexts = []
    ae.add_requested_context(sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate(HOST, port, ae_title=LISTENER_AET)
    assert assoc.is_established
    try:
        status = assoc.send_c_store(payload)
        assert assoc.send_c_echo().Status == 0  # and the listener is still fine
        return int(status.Status)
    finally:
        assoc.release()


def _part10_with_raw_dataset(path: Path, sop_class: str, sop_instance: str, raw: bytes) -> Path:
    """A file with valid file meta and whatever bytes as the data set."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    with path.open("wb") as out:
        out.write(b"\x00" * 128 + b"DICM")
        pydicom.filewriter.write_file_meta_info(out, meta)  # type: ignore[arg-type]
        out.write(raw)
    return path


def test_a_received_instance_is_stored_under_its_series(
    our_listener: RunningListener, sender: AE
) -> None:
    ds = _dataset()
    assert _send(sender, our_listener.port, ds) == 0x0000
    [path] = our_listener.spool.files_for_series(ds.SeriesInstanceUID)
    assert our_listener.stored == [path]
    stored = pydicom.dcmread(path)
    assert stored.SOPInstanceUID == ds.SOPInstanceUID
    assert stored.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert stored.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_private_sop_class_is_accepted_as_storage(
    our_listener: RunningListener, sender: AE
) -> None:
    ds = _dataset(PRIVATE_SOP_CLASS)
    assert _send(sender, our_listener.port, ds, PRIVATE_SOP_CLASS) == 0x0000
    assert len(our_listener.spool.files_for_series(ds.SeriesInstanceUID)) == 1


def test_a_corrupt_data_set_is_kept_unsorted_and_the_listener_carries_on(
    our_listener: RunningListener, sender: AE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)  # send the bytes as-is
    sop_instance = generate_uid()
    garbage = _part10_with_raw_dataset(
        tmp_path / "garbage.dcm", CTImageStorage, sop_instance, b"\xff\x13\x00garbage" * 100
    )
    assert _send(sender, our_listener.port, garbage) == listener.DATASET_DOES_NOT_MATCH_SOP_CLASS
    [kept] = our_listener.spool.unsorted_dir.iterdir()
    assert kept.name == f"{Spool.instance_key(sop_instance)}.dcm"
    assert kept.read_bytes().endswith(b"\xff\x13\x00garbage" * 3)
    ds = _dataset()
    assert _send(sender, our_listener.port, ds) == 0x0000  # the next file is fine


def test_a_truncated_data_set_is_stored_for_the_first_pass_to_judge(
    our_listener: RunningListener, sender: AE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    ds = _dataset(size=64)
    full = tmp_path / "full.dcm"
    ds.save_as(full, enforce_file_format=True)
    raw = full.read_bytes()
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes(raw[: len(raw) - 1000])  # the pixel data is cut short
    assert _send(sender, our_listener.port, truncated) == 0x0000
    [path] = our_listener.spool.files_for_series(ds.SeriesInstanceUID)
    assert path.read_bytes().endswith(raw[-3000:-1000])  # what was sent, as it was sent


def test_a_failed_write_answers_out_of_resources(tmp_path: Path) -> None:
    class FullSpool(Spool):
        def store_received_file(self, path: Path, **_: str) -> Path:
            raise OSError(errno.ENOSPC, "No space left on device")

        def store(self, *args: object, **kwargs: object) -> Path:
            raise OSError(errno.ENOSPC, "No space left on device")

    event = SimpleNamespace(
        request=SimpleNamespace(
            AffectedSOPInstanceUID="1.2.3",
            AffectedSOPClassUID=CTImageStorage,
            DataSet=__import__("io").BytesIO(b"\x08\x00\x18\x00UI\x02\x00\x31\x00"),
        ),
        context=SimpleNamespace(
            transfer_syntax=ExplicitVRLittleEndian, abstract_syntax=CTImageStorage
        ),
        assoc=SimpleNamespace(requestor=SimpleNamespace(ae_title="ORTHANC")),
    )
    assert handle_store(event, FullSpool(tmp_path / "spool")) == listener.OUT_OF_RESOURCES  # type: ignore[arg-type]


def test_without_chunked_receive_the_data_set_is_written_from_memory(
    tmp_path: Path, sender: AE
) -> None:
    spool = Spool(tmp_path / "spool")
    port = free_port()
    server = listener.serve(LISTENER_AET, HOST, port, spool, block=False, chunked=False)
    assert server is not None
    try:
        ds = _dataset()
        assert _send(sender, port, ds) == 0x0000
        [path] = spool.files_for_series(ds.SeriesInstanceUID)
        stored = pydicom.dcmread(path)
        assert stored.file_meta.SourceApplicationEntityTitle == "SENDER"
        assert stored.PixelData == ds.PixelData
    finally:
        stop_server(server)
        listener.enable_chunked_receive(spool.tmp_dir)  # what the other tests expect


_SEND_FROM_ANOTHER_PROCESS = """
import sys
from pynetdicom import AE, _config
from pydicom.uid import ExplicitVRLittleEndian
_config.STORE_SEND_CHUNKED_DATASET = True  # stream the file from disk
ae = AE("SENDER")
ae.add_requested_context("1.2.840.10008.5.1.4.1.1.7", [ExplicitVRLittleEndian])
assoc = ae.associate("127.0.0.1", int(sys.argv[1]), ae_title="TEACHFILE")
status = assoc.send_c_store(sys.argv[2])
assoc.release()
sys.exit(0 if status.Status == 0 else 1)
"""


def test_a_large_multiframe_object_is_never_held_in_memory(
    our_listener: RunningListener, tmp_path: Path
) -> None:
    """64 MB received with less than 8 MB allocated in this process at any time.

    The sender is another process: pynetdicom as a sender queues PDUs faster than the
    socket takes them, and its memory would be counted here.
    """
    ds = _dataset(SECONDARY_CAPTURE, frames=256, size=512)
    ds.PixelData = np.random.default_rng(1).integers(0, 255, 256 * 512 * 512, np.uint8).tobytes()
    big = tmp_path / "big.dcm"
    ds.save_as(big, enforce_file_format=True)
    series = ds.SeriesInstanceUID
    del ds
    tracemalloc.start()
    try:
        subprocess.run(
            [sys.executable, "-c", _SEND_FROM_ANOTHER_PROCESS, str(our_listener.port), str(big)],
            check=True,
            timeout=60,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    [path] = our_listener.spool.files_for_series(series)
    assert path.stat().st_size == big.stat().st_size - _meta_delta(big, path)


def _meta_delta(sent: Path, stored: Path) -> int:
    """The file meta we write may differ in length from the sender's."""

    def meta_length(path: Path) -> int:
        with path.open("rb") as f:
            f.seek(140)
            return 144 + int.from_bytes(f.read(4), "little")

    return meta_length(sent) - meta_length(stored)


def test_echo_is_answered(our_listener: RunningListener, sender: AE) -> None:
    sender.add_requested_context(VERIFICATION)
    assoc = sender.associate(HOST, our_listener.port, ae_title=LISTENER_AET)
    assert assoc.send_c_echo().Status == 0
    assoc.release()


def test_the_listener_takes_every_storage_class_in_the_common_syntaxes() -> None:
    ae = listener.build_listener_ae(LISTENER_AET)
    classes = {cx.abstract_syntax for cx in ae.supported_contexts}
    assert CTImageStorage in classes and "1.2.840.10008.5.1.4.1.1.3.1" in classes
    assert len(classes) > 150
    ct = next(cx for cx in ae.supported_contexts if cx.abstract_syntax == CTImageStorage)
    assert "1.2.840.10008.1.2.4.50" in ct.transfer_syntax  # JPEG baseline
    assert "1.2.840.10008.1.2.4.90" in ct.transfer_syntax  # JPEG 2000 lossless
    assert "1.2.840.10008.1.2.5" in ct.transfer_syntax  # RLE
    assert len(ct.transfer_syntax) == 13
    assert ae.maximum_pdu_size == listener.MAX_PDU


class _Peer:
    """A socket whose peer declared a huge PDU, sends ``chunks`` and then closes."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def recv_into(self, view: memoryview, size: int) -> int:
        if not self.chunks:
            return 0
        chunk = self.chunks.pop(0)[:size]
        view[: len(chunk)] = chunk
        return len(chunk)


def test_a_pdu_that_claims_4_gb_costs_only_what_the_peer_sends() -> None:
    """Six bytes declaring a 4 GB PDU must not make the listener allocate 4 GB."""
    tracemalloc.start()
    try:
        got = listener._recv_into(SimpleNamespace(socket=_Peer([b"x" * 10])), 0xFFFFFFFF)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert bytes(got) == b"x" * 10
    assert peak < 8 * 1024 * 1024


def test_a_pdu_larger_than_the_first_buffer_arrives_whole() -> None:
    size = 3 * listener._FIRST_ALLOCATION + 123
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    chunks = [data[i : i + 65536] for i in range(0, size, 65536)]
    got = listener._recv_into(SimpleNamespace(socket=_Peer(chunks)), size)
    assert bytes(got) == data
