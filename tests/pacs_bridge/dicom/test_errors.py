"""Every way a pull can fail ends in a PacsError whose message a person understands."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pynetdicom import evt

from pacs_bridge.dicom import scu
from pacs_bridge.dicom.errors import (
    AssociationAborted,
    AssociationRejected,
    MoveDestinationUnknown,
    PacsTimeout,
    PacsUnreachable,
    QueryFailed,
    RetrieveFailed,
    ServiceNotSupported,
    status_text,
)
from pacs_bridge.dicom.scu import Node, StudyQuery
from tests import peers
from tests.pacs_bridge.dicom.conftest import (
    HOST,
    LISTENER_AET,
    PACS_AET,
    PacsFactory,
    RunningListener,
    RunningPacs,
)
from tests.pacs_bridge.dicom.test_scu import CT_SERIES, CT_STUDY, US_STUDY
from tests.peers import free_port


def test_nothing_listening_is_unreachable_with_the_reason() -> None:
    port = free_port()
    with pytest.raises(PacsUnreachable) as info:
        scu.echo(Node("ORTHANC", HOST, port, timeout=5))
    assert info.value.message == (
        f"The PACS at 127.0.0.1:{port} did not answer (connection refused)."
    )
    assert str(info.value) == info.value.message


def test_an_unknown_host_name_is_unreachable() -> None:
    with pytest.raises(PacsUnreachable, match=r"host name pacs\.invalid is unknown"):
        scu.echo(Node("ORTHANC", "pacs.invalid", 104, timeout=5))


def test_a_wrong_called_ae_title_is_rejected(start_pacs: PacsFactory) -> None:
    pacs = start_pacs(require_called_aet=True)
    node = Node("NOTDEMO", HOST, pacs.node.port, timeout=5)
    with pytest.raises(AssociationRejected) as info:
        scu.find_studies(node, StudyQuery())
    assert info.value.message == (
        "The PACS refused the connection: our AE title TEACHFILE or its AE title NOTDEMO "
        "is not what it expects (reason: its AE title is not the one we called)."
    )
    assert scu.echo(Node(PACS_AET, HOST, pacs.node.port)) > 0  # the right one works


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word."""
    with peers.silent_server(HOST) as port:
        yield port


def test_a_peer_that_accepts_but_never_answers_times_out(silent_server: int) -> None:
    start = time.monotonic()
    with pytest.raises(PacsTimeout) as info:
        scu.echo(Node("SILENT", HOST, silent_server, timeout=0.5))
    assert info.value.message == "The PACS did not answer within 0.5 s."
    assert time.monotonic() - start < 5


def _slow(handler: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def slow_handler(event: Any, *args: Any) -> Iterator[Any]:
        time.sleep(1.5)
        yield from handler(event, *args)

    return slow_handler


def test_a_pacs_that_stops_answering_mid_search_times_out(start_pacs: PacsFactory) -> None:
    pacs = start_pacs(wrap={evt.EVT_C_FIND: _slow}, timeout=0.5)
    with pytest.raises(PacsTimeout, match=r"^The PACS did not answer within 0.5 s.$"):
        scu.find_studies(pacs.node, StudyQuery())


def test_an_unknown_move_destination_says_what_to_ask_the_admin(
    start_pacs: PacsFactory,
) -> None:
    pacs = start_pacs(destinations={"SOMEONE": (HOST, 1)})
    with pytest.raises(MoveDestinationUnknown) as info:
        scu.move(
            pacs.node,
            destination_ae=LISTENER_AET,
            study_instance_uid=CT_STUDY,
            destination_address="10.1.2.3:11112",
        )
    assert info.value.message == (
        "The PACS does not know our AE title TEACHFILE as a move destination: ask its "
        "admin to add TEACHFILE at 10.1.2.3:11112."
    )


def _refusing_move(handler: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def refusing(event: Any, *args: Any) -> Iterator[Any]:
        raise RuntimeError("no such destination")  # pynetdicom answers 0xC514
        yield  # pragma: no cover

    return refusing


def test_a_move_that_fails_before_sending_anything_hints_at_the_destination(
    start_pacs: PacsFactory,
) -> None:
    """Orthanc answers an unknown move destination with 0xC000, not 0xA801."""
    pacs = start_pacs(wrap={evt.EVT_C_MOVE: _refusing_move})
    with pytest.raises(RetrieveFailed) as info:
        scu.move(
            pacs.node,
            destination_ae=LISTENER_AET,
            study_instance_uid=CT_STUDY,
            destination_address="10.1.2.3:11112",
        )
    assert info.value.message.startswith(
        "The PACS could not start sending the files: status 0xC514"
    )
    assert info.value.message.endswith(
        "Most often this means it does not know our AE title TEACHFILE as a move "
        "destination, or cannot connect to it: ask its admin to add TEACHFILE at 10.1.2.3:11112."
    )


def _abort_after(
    files: int,
) -> Callable[[Callable[..., Iterator[Any]]], Callable[..., Iterator[Any]]]:
    def wrap(handler: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        def aborting(event: Any, *args: Any) -> Iterator[Any]:
            sent = 0
            for item in handler(event, *args):
                if isinstance(item, tuple) and len(item) == 2 and item[0] == 0xFF00:
                    if sent == files:
                        event.assoc.abort()
                        return
                    sent += 1
                yield item

        return aborting

    return wrap


def test_a_pacs_dropping_the_connection_mid_move_is_an_abort(
    start_pacs: PacsFactory, our_listener: RunningListener
) -> None:
    pacs = start_pacs(
        destinations={LISTENER_AET: (HOST, our_listener.port)},
        wrap={evt.EVT_C_MOVE: _abort_after(3)},
    )
    progress: list[scu.Progress] = []
    with pytest.raises(AssociationAborted) as info:
        scu.move(
            pacs.node,
            destination_ae=LISTENER_AET,
            study_instance_uid=CT_STUDY,
            series_instance_uids=[CT_SERIES],
            on_progress=progress.append,
        )
    assert info.value.message == "The PACS dropped the connection during the retrieve."
    assert len(our_listener.spool.files_for_series(CT_SERIES)) == 3  # what came is kept
    assert progress[-1].completed == 3


def test_a_pacs_dropping_the_connection_mid_get_is_an_abort(
    start_pacs: PacsFactory, tmp_path: Path
) -> None:
    from pacs_bridge.dicom.spool import Spool

    pacs = start_pacs(wrap={evt.EVT_C_GET: _abort_after(2)})
    with pytest.raises(AssociationAborted):
        scu.get(pacs.node, spool=Spool(tmp_path / "s"), study_instance_uid=CT_STUDY)


def test_a_partial_retrieve_returns_counts_and_the_failed_instance(
    start_pacs: PacsFactory, our_listener: RunningListener, archive_copy: Path
) -> None:
    pacs = start_pacs(destinations={LISTENER_AET: (HOST, our_listener.port)}, folder=archive_copy)
    broken = archive_copy / "ct-chest" / "CT0004.dcm"
    broken_uid = next(
        uid
        for study in pacs.archive.studies.values()
        for series in study.series.values()
        for uid, instance in series.instances.items()
        if instance.path == broken
    )
    broken.write_bytes(b"this is no longer a DICOM file")  # after the PACS indexed it
    result = scu.move(
        pacs.node,
        destination_ae=LISTENER_AET,
        study_instance_uid=CT_STUDY,
        series_instance_uids=[CT_SERIES],
    )
    assert result == scu.RetrieveResult(0xB000, 5, 1, 0, [broken_uid])
    assert len(our_listener.spool.files_for_series(CT_SERIES)) == 5


def test_a_retrieve_where_every_file_fails_raises_with_the_status(
    start_pacs: PacsFactory, our_listener: RunningListener, archive_copy: Path
) -> None:
    pacs = start_pacs(destinations={LISTENER_AET: (HOST, our_listener.port)}, folder=archive_copy)
    for path in (archive_copy / "ct-chest").glob("*.dcm"):
        path.write_bytes(b"gone")
    with pytest.raises(RetrieveFailed) as info:
        scu.move(pacs.node, destination_ae=LISTENER_AET, study_instance_uid=CT_STUDY)
    assert info.value.status == 0xA702
    assert info.value.message == (
        "The PACS could not send the files: status 0xA702 "
        "(the PACS is out of resources: it could not send the files)."
    )
    assert (info.value.result.completed, info.value.result.failed) == (0, 6)


def _failing_find(handler: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def failing(event: Any, *args: Any) -> Iterator[Any]:
        yield 0xC001, None

    return failing


def test_a_search_failure_status_is_reported(start_pacs: PacsFactory) -> None:
    pacs = start_pacs(wrap={evt.EVT_C_FIND: _failing_find})
    with pytest.raises(QueryFailed, match=r"status 0xC001 \(the PACS was unable to process"):
        scu.find_studies(pacs.node, StudyQuery())


def test_asking_a_storage_only_peer_to_search_is_not_supported(
    our_listener: RunningListener,
) -> None:
    node = Node(LISTENER_AET, HOST, our_listener.port, timeout=5)
    with pytest.raises(ServiceNotSupported, match="accepted the connection but none of"):
        scu.find_studies(node, StudyQuery())
    assert scu.echo(node) > 0


def test_get_of_sop_classes_we_did_not_propose_fails_those_files(
    pacs: RunningPacs, tmp_path: Path
) -> None:
    from pydicom.uid import CTImageStorage

    from pacs_bridge.dicom.spool import Spool

    with pytest.raises(RetrieveFailed) as info:
        scu.get(
            pacs.node,
            spool=Spool(tmp_path / "s"),
            study_instance_uid=US_STUDY,
            sop_classes=[CTImageStorage],  # the study holds ultrasound only
        )
    assert (info.value.result.completed, info.value.result.failed) == (0, 2)


def test_status_text_names_the_ps3_4_meaning() -> None:
    assert status_text(0xA801) == "0xA801 (the PACS does not know the move destination)"
    assert status_text(0xC123) == "0xC123 (the PACS was unable to process the request)"
