"""Over real associations: only a known PACS, from its own address, may connect, and
only instances an active import asks for are stored; the rest is refused, counted and
logged without identifiers, and nothing of it stays on disk."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.transport import ThreadedAssociationServer

from pacs_bridge.dicom import listener
from pacs_bridge.dicom.contexts import VERIFICATION
from pacs_bridge.dicom.policy import ActiveJobs, Admission, KnownPeers, WantedInstances
from pacs_bridge.dicom.spool import Spool
from tests.pacs_bridge.dicom.conftest import HOST, LISTENER_AET, stop_server
from tests.pacs_bridge.dicom.test_listener import _dataset, _part10_with_raw_dataset
from tests.peers import free_port


@dataclass
class Guarded:
    port: int
    spool: Spool
    stats: listener.ListenerStats
    nodes: list[tuple[str, str]]
    jobs: list[WantedInstances]


@pytest.fixture
def start_guarded(tmp_path: Path) -> Iterator[Callable[..., Guarded]]:
    servers: list[ThreadedAssociationServer] = []

    def start(*, chunked: bool = True) -> Guarded:
        spool = Spool(tmp_path / f"spool-{len(servers)}")
        nodes: list[tuple[str, str]] = [("ORTHANC", "127.0.0.1")]
        jobs: list[WantedInstances] = []
        stats = listener.ListenerStats()
        admission = Admission(KnownPeers(lambda: list(nodes)), ActiveJobs(lambda: list(jobs)))
        port = free_port()
        server = listener.serve(
            LISTENER_AET, HOST, port, spool, block=False, chunked=chunked,
            admission=admission, stats=stats,
        )  # fmt: skip
        assert server is not None
        servers.append(server)
        return Guarded(port, spool, stats, nodes, jobs)

    yield start
    for server in servers:
        stop_server(server)
    listener.enable_chunked_receive(tmp_path / "spool-0" / ".partial")  # as the others expect


def _associate(port: int, ae_title: str, *contexts: str) -> object:
    ae = AE(ae_title)
    ae.acse_timeout = ae.dimse_timeout = 10
    for uid in contexts or (CTImageStorage, VERIFICATION):
        ae.add_requested_context(uid, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    return ae.associate(HOST, port, ae_title=LISTENER_AET)


def _store(port: int, ae_title: str, payload: Dataset | Path) -> int:
    assoc = _associate(port, ae_title)
    assert assoc.is_established  # type: ignore[attr-defined]
    try:
        status = assoc.send_c_store(payload)  # type: ignore[attr-defined]
        return int(status.Status)
    finally:
        assoc.release()  # type: ignore[attr-defined]


def _non_empty_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size > 0]


def test_an_unknown_ae_title_is_rejected_at_association(
    start_guarded: Callable[..., Guarded],
) -> None:
    guarded = start_guarded()
    assoc = _associate(guarded.port, "INTRUDER")
    assert assoc.is_rejected  # type: ignore[attr-defined]
    rsp = assoc.acceptor.primitive  # type: ignore[attr-defined]
    assert (rsp.result, rsp.result_source, rsp.diagnostic) == (0x01, 0x01, 0x03)
    assert guarded.stats.totals[("INTRUDER", "rejected")] == 1


def test_a_known_ae_title_from_another_address_is_rejected(
    start_guarded: Callable[..., Guarded],
) -> None:
    guarded = start_guarded()
    guarded.nodes[:] = [("ORTHANC", "192.0.2.10")]  # the node is elsewhere
    assoc = _associate(guarded.port, "ORTHANC")
    assert assoc.is_rejected  # type: ignore[attr-defined]


def test_anyone_may_echo_since_an_echo_stores_nothing(
    start_guarded: Callable[..., Guarded],
) -> None:
    guarded = start_guarded()
    assoc = _associate(guarded.port, "TEACHFILE", VERIFICATION)
    assert assoc.is_established  # type: ignore[attr-defined]
    assert assoc.send_c_echo().Status == 0  # type: ignore[attr-defined]
    assoc.release()  # type: ignore[attr-defined]


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "in-memory"])
def test_an_instance_no_import_asks_for_is_refused_and_nothing_is_kept(
    start_guarded: Callable[..., Guarded], chunked: bool, caplog: pytest.LogCaptureFixture
) -> None:
    guarded = start_guarded(chunked=chunked)
    ds = _dataset()
    guarded.jobs.append(WantedInstances("ORTHANC", "1.2.3.4.5"))  # another study
    with caplog.at_level(logging.WARNING, logger="pacs_bridge.dicom.listener"):
        assert _store(guarded.port, "ORTHANC", ds) == 0x0124  # Refused: Not Authorized
        deadline = time.monotonic() + 5
        while "instances refused" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
    assert not _non_empty_files(guarded.spool.root)
    assert not guarded.spool.series_dir(ds.SeriesInstanceUID).exists()
    assert guarded.stats.totals[("ORTHANC", "not-wanted")] == 1
    [line] = [r.getMessage() for r in caplog.records if "instances refused" in r.getMessage()]
    assert "ORTHANC" in line and "1 not-wanted" in line
    for uid in (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID):
        assert uid not in caplog.text
    assert "TEST^LISTENER" not in caplog.text


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "in-memory"])
def test_an_instance_of_an_active_import_is_stored(
    start_guarded: Callable[..., Guarded], chunked: bool
) -> None:
    guarded = start_guarded(chunked=chunked)
    ds = _dataset()
    guarded.jobs.append(
        WantedInstances("ORTHANC", ds.StudyInstanceUID, frozenset({ds.SeriesInstanceUID}))
    )
    assert _store(guarded.port, "ORTHANC", ds) == 0x0000
    assert len(guarded.spool.files_for_series(ds.SeriesInstanceUID)) == 1
    assert guarded.stats.totals[("ORTHANC", "stored")] == 1


def test_an_instance_of_another_series_of_the_study_is_refused(
    start_guarded: Callable[..., Guarded],
) -> None:
    guarded = start_guarded()
    ds = _dataset()
    guarded.jobs.append(WantedInstances("ORTHANC", ds.StudyInstanceUID, frozenset({"1.2.3"})))
    assert _store(guarded.port, "ORTHANC", ds) == 0x0124
    assert not guarded.spool.series_dir(ds.SeriesInstanceUID).exists()


def test_an_instance_whose_study_cannot_be_read_is_refused(
    start_guarded: Callable[..., Guarded], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    guarded = start_guarded()
    garbage = _part10_with_raw_dataset(
        tmp_path / "garbage.dcm", CTImageStorage, "1.2.3.4", b"\xff\x13\x00garbage" * 100
    )
    assert _store(guarded.port, "ORTHANC", garbage) == listener.CANNOT_UNDERSTAND
    assert not _non_empty_files(guarded.spool.root)
    assert guarded.stats.totals[("ORTHANC", "unreadable")] == 1


def test_a_failing_admission_check_refuses_for_now(tmp_path: Path) -> None:
    def broken(*_: object) -> bool:
        raise RuntimeError("database down")

    spool = Spool(tmp_path / "spool")
    port = free_port()
    server = listener.serve(
        LISTENER_AET, HOST, port, spool, block=False, admission=Admission(peer=broken)
    )
    assert server is not None
    try:
        assoc = _associate(port, "ORTHANC")
        assert assoc.is_rejected  # type: ignore[attr-defined]
        rsp = assoc.acceptor.primitive  # type: ignore[attr-defined]
        assert (rsp.result, rsp.result_source, rsp.diagnostic) == (0x02, 0x03, 0x01)
    finally:
        stop_server(server)


def test_an_instance_is_refused_for_now_when_the_check_fails(tmp_path: Path) -> None:
    def broken(*_: object) -> bool:
        raise RuntimeError("database down")

    spool = Spool(tmp_path / "spool")
    port = free_port()
    stats = listener.ListenerStats()
    server = listener.serve(
        LISTENER_AET, HOST, port, spool, block=False, admission=Admission(instance=broken),
        stats=stats,
    )  # fmt: skip
    assert server is not None
    try:
        assert _store(port, "ORTHANC", _dataset()) == listener.OUT_OF_RESOURCES
        assert not _non_empty_files(spool.root)
        assert stats.totals[("ORTHANC", "unchecked")] == 1
    finally:
        stop_server(server)


def test_the_counters_keep_a_bounded_number_of_ae_titles() -> None:
    stats = listener.ListenerStats()
    for i in range(1000):
        stats.count(None, f"RANDOM{i}", "rejected")
    assert len(stats.totals) <= stats.MAX_TITLES + 1
    assert stats.refused() == 1000


def test_a_peer_let_in_for_c_echo_cannot_store_through_the_verification_context(
    start_guarded: Callable[..., Guarded],
) -> None:
    """pynetdicom serves a C-STORE by the request's SOP class, whatever context carries
    it: an unknown peer relabels its accepted Verification context and sends a C-STORE of
    an instance an active import wants. It is refused and nothing is kept."""
    guarded = start_guarded()
    ds = _dataset()
    guarded.jobs.append(WantedInstances("ORTHANC", str(ds.StudyInstanceUID)))
    assoc = _associate(guarded.port, "ORTHANC", VERIFICATION)  # any title: echo only
    assert assoc.is_established  # type: ignore[attr-defined]
    try:
        for context in assoc._accepted_cx.values():  # type: ignore[attr-defined]
            context.abstract_syntax = CTImageStorage
        status = assoc.send_c_store(ds)  # type: ignore[attr-defined]
        assert int(status.Status) == 0x0124
    finally:
        assoc.release()  # type: ignore[attr-defined]
    assert not _non_empty_files(guarded.spool.root)
    assert guarded.stats.totals[("ORTHANC", "wrong-context")] == 1


def test_peers_let_in_only_for_c_echo_cannot_take_the_places_of_known_pacs_nodes(
    start_guarded: Callable[..., Guarded],
) -> None:
    guarded = start_guarded()
    held = [_associate(guarded.port, f"NOBODY{i}", VERIFICATION) for i in range(3)]
    try:
        established = [a.is_established for a in held]  # type: ignore[attr-defined]
        assert established == [True] * listener.MAX_ECHO_ONLY + [False]
        ds = _dataset()
        guarded.jobs.append(WantedInstances("ORTHANC", str(ds.StudyInstanceUID)))
        assert _store(guarded.port, "ORTHANC", ds) == 0x0000  # a known PACS still gets in
    finally:
        for assoc in held:
            if assoc.is_established:  # type: ignore[attr-defined]
                assoc.release()  # type: ignore[attr-defined]


def test_data_on_an_association_let_in_for_c_echo_is_cut_off_before_it_reaches_disk(
    start_guarded: Callable[..., Guarded],
) -> None:
    guarded = start_guarded()
    assoc = _associate(guarded.port, "NOBODY", VERIFICATION)
    assert assoc.is_established  # type: ignore[attr-defined]
    for context in assoc._accepted_cx.values():  # type: ignore[attr-defined]
        context.abstract_syntax = CTImageStorage
    status = assoc.send_c_store(_dataset(size=256))  # type: ignore[attr-defined]
    assert not status  # no answer: the listener aborted the association
    deadline = time.monotonic() + 5
    while assoc.is_established and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    assert not assoc.is_established  # type: ignore[attr-defined]
    assert not _non_empty_files(guarded.spool.root)
