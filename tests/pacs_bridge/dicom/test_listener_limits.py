"""The listener's limits: PDU length, associations at once, bytes in flight, and no
temporary file left behind."""

from __future__ import annotations

import socket
import struct
import time
import tracemalloc
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from queue import Queue

import pytest
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.transport import ThreadedAssociationServer

from pacs_bridge.dicom import listener
from pacs_bridge.dicom.contexts import VERIFICATION
from pacs_bridge.dicom.listener import Limits, ReceiveBudget, TemporaryFilePool
from pacs_bridge.dicom.spool import Spool
from tests.pacs_bridge.dicom.conftest import HOST, LISTENER_AET, stop_server
from tests.pacs_bridge.dicom.test_listener import _dataset
from tests.peers import free_port


@pytest.fixture
def start_limited(tmp_path: Path) -> Iterator[Callable[..., tuple[int, Spool]]]:
    servers: list[ThreadedAssociationServer] = []

    def start(limits: Limits) -> tuple[int, Spool]:
        spool = Spool(tmp_path / f"spool-{len(servers)}")
        port = free_port()
        server = listener.serve(LISTENER_AET, HOST, port, spool, block=False, limits=limits)
        assert server is not None
        servers.append(server)
        return port, spool

    yield start
    for server in servers:
        stop_server(server)
    listener.enable_chunked_receive(tmp_path / "spool-0" / ".partial")  # default budget


def _sender() -> AE:
    ae = AE("SENDER")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 10
    ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
    ae.add_requested_context(VERIFICATION)
    return ae


def _wait(condition: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _non_empty_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 0]


# -- PDU length ---------------------------------------------------------------------------
def test_a_pdu_longer_than_our_maximum_is_refused_with_an_abort(
    start_limited: Callable[..., tuple[int, Spool]],
) -> None:
    """Six bytes declaring a 4 GB A-ASSOCIATE-RQ: A-ABORT, and no buffer for it."""
    port, _ = start_limited(Limits())
    tracemalloc.start()
    try:
        with socket.create_connection((HOST, port), timeout=10) as sock:
            sock.sendall(b"\x01\x00" + struct.pack(">I", 0xFFFFFFFF))
            answer = sock.recv(10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer[:1] == b"\x07"  # A-ABORT PDU (PS3.8 9.3.8)
    assert peak < 4 * 1024 * 1024
    assoc = _sender().associate(HOST, port, ae_title=LISTENER_AET)  # still serving
    assert assoc.is_established and assoc.send_c_echo().Status == 0
    assoc.release()


def test_an_overlong_pdu_during_an_association_aborts_it(
    start_limited: Callable[..., tuple[int, Spool]],
) -> None:
    port, _ = start_limited(Limits())
    assoc = _sender().associate(HOST, port, ae_title=LISTENER_AET)
    assert assoc.is_established
    declared = listener.MAX_RECEIVE_PDU + 1
    assoc.dul.socket.socket.sendall(b"\x04\x00" + struct.pack(">I", declared) + b"\x00" * 64)
    assert _wait(lambda: assoc.is_aborted)


def test_a_pdu_of_our_maximum_length_is_read_and_one_byte_more_is_not() -> None:
    class Dul:
        def __init__(self) -> None:
            self.event_queue = Queue()

    dul = Dul()
    bounded = listener._BoundedRecv(bytearray, listener.MAX_RECEIVE_PDU, dul, "peer")
    assert len(bounded(listener.MAX_RECEIVE_PDU)) == listener.MAX_RECEIVE_PDU
    assert dul.event_queue.empty()
    assert bounded(listener.MAX_RECEIVE_PDU + 1) == b""
    assert dul.event_queue.get_nowait() == "Evt19"  # PS3.8 9.2: invalid PDU, abort


# -- associations -------------------------------------------------------------------------
def test_associations_beyond_the_limit_are_rejected_for_now(
    start_limited: Callable[..., tuple[int, Spool]],
) -> None:
    port, _ = start_limited(Limits(max_associations=1))
    first = _sender().associate(HOST, port, ae_title=LISTENER_AET)
    assert first.is_established
    second = _sender().associate(HOST, port, ae_title=LISTENER_AET)
    assert second.is_rejected
    rsp = second.acceptor.primitive
    assert (rsp.result, rsp.result_source, rsp.diagnostic) == (0x02, 0x03, 0x02)  # local limit
    first.release()

    def third_gets_in() -> bool:
        assoc = _sender().associate(HOST, port, ae_title=LISTENER_AET)
        if assoc.is_established:
            assoc.release()
            return True
        return False

    assert _wait(third_gets_in)


def test_connections_that_close_before_associating_do_not_hold_a_place(
    start_limited: Callable[..., tuple[int, Spool]],
) -> None:
    """A port scan, or six bytes declaring a huge PDU, then gone: the next PACS gets in
    at once, not after the ACSE timeout (30 s)."""
    port, _ = start_limited(Limits(max_associations=2))
    for junk in (b"", b"\x01\x00" + struct.pack(">I", 0xFFFFFFFF), b"\x01\x00", b""):
        with socket.create_connection((HOST, port), timeout=5) as sock:
            sock.sendall(junk)
    start = time.monotonic()

    def gets_in() -> bool:
        assoc = _sender().associate(HOST, port, ae_title=LISTENER_AET)
        if assoc.is_established:
            assoc.release()
            return True
        return False

    assert _wait(gets_in, timeout=10)
    assert time.monotonic() - start < 5


def test_the_listener_ae_has_the_configured_association_limit() -> None:
    assert listener.build_listener_ae(LISTENER_AET).maximum_associations == 8
    assert listener.build_listener_ae(LISTENER_AET, Limits(3)).maximum_associations == 3


# -- bytes in flight ----------------------------------------------------------------------
def test_an_instance_beyond_the_byte_budget_is_refused_out_of_resources(
    start_limited: Callable[..., tuple[int, Spool]],
) -> None:
    port, spool = start_limited(Limits(max_bytes_in_flight=64 * 1024))
    big, small = _dataset(size=300), _dataset(size=16)  # 90 KB, then 256 bytes of pixels
    assoc = _sender().associate(HOST, port, ae_title=LISTENER_AET)
    try:
        assert assoc.send_c_store(big).Status == listener.OUT_OF_RESOURCES
        assert not _non_empty_files(spool.root)
        assert listener._pool is not None and listener._pool.budget.used == 0
        assert assoc.send_c_store(small).Status == 0x0000  # the next one fits
    finally:
        assoc.release()
    assert not spool.files_for_series(big.SeriesInstanceUID)
    assert len(spool.files_for_series(small.SeriesInstanceUID)) == 1


def test_the_budget_is_shared_by_every_file_in_flight(tmp_path: Path) -> None:
    pool = TemporaryFilePool(tmp_path, size=2, max_bytes_in_flight=100)
    try:
        first, second = pool(), pool()
        assert first.write(b"a" * 60) == 60
        second.write(b"b" * 60)  # 120 > 100: refused, emptied, its bytes given back
        assert second.refused == "over-budget" and Path(second.name).stat().st_size == 0
        second.write(b"more")  # dropped as it arrives
        assert Path(second.name).stat().st_size == 0
        assert pool.budget.used == 60
        assert first.claim() and not first.claim()
        first.release()
        assert pool.budget.used == 0
    finally:
        pool.close()


def test_a_budget_never_goes_negative() -> None:
    budget = ReceiveBudget(10)
    assert budget.take(10) and not budget.take(1)
    budget.give_back(15)
    assert budget.used == 0


def test_an_instance_cut_off_by_an_abort_leaves_no_file_and_no_bytes_in_flight(
    start_limited: Callable[..., tuple[int, Spool]],
) -> None:
    port, spool = start_limited(Limits())
    ds = _dataset(size=320)  # 100 KB: several PDUs of 16 KB
    encoded = DicomBytesIO()
    encoded.is_little_endian, encoded.is_implicit_VR = True, False
    write_dataset(encoded, ds)
    request = C_STORE()
    request.MessageID = 1
    request.AffectedSOPClassUID = CTImageStorage
    request.AffectedSOPInstanceUID = ds.SOPInstanceUID
    request.Priority = 2
    request.DataSet = BytesIO(encoded.getvalue())
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    assoc = _sender().associate(HOST, port, ae_title=LISTENER_AET)
    assert assoc.is_established
    context_id = next(
        cx.context_id for cx in assoc.accepted_contexts if cx.abstract_syntax == CTImageStorage
    )
    fragments = list(message.encode_msg(context_id, 16 * 1024))
    assert len(fragments) > 3
    for fragment in fragments[:-1]:  # all but the last
        assoc.dul.send_pdu(fragment)
    pool = listener._pool
    assert pool is not None
    assert _wait(lambda: pool.budget.used > 50_000)
    assert _non_empty_files(spool.tmp_dir)
    assoc.abort()
    assert _wait(lambda: pool.budget.used == 0 and not _non_empty_files(spool.root))


# -- temporary files ----------------------------------------------------------------------
def test_closing_the_pool_leaves_no_empty_file(tmp_path: Path) -> None:
    pool = TemporaryFilePool(tmp_path, size=64)
    assert _wait(lambda: len(list(tmp_path.iterdir())) >= 64)
    pool.close()
    assert list(tmp_path.iterdir()) == []


def test_a_new_pool_removes_empty_files_an_earlier_process_left(tmp_path: Path) -> None:
    (tmp_path / "rx-1-abc-0.dcm").touch()
    (tmp_path / "rx-1-abc-1.dcm").write_bytes(b"partly written")
    pool = TemporaryFilePool(tmp_path, size=1)
    try:
        assert not (tmp_path / "rx-1-abc-0.dcm").exists()
        assert (tmp_path / "rx-1-abc-1.dcm").exists()  # until Spool.discard_older_than
    finally:
        pool.close()


def test_stopping_chunked_receive_removes_the_pool_files(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    listener.enable_chunked_receive(spool.tmp_dir)
    try:
        assert _wait(lambda: any(spool.tmp_dir.iterdir()))
    finally:
        listener.disable_chunked_receive()
        listener.enable_chunked_receive(tmp_path / "other")  # what the other tests expect
    assert list(spool.tmp_dir.iterdir()) == []
