"""Against real PACS software: Orthanc and dcmtk's dcmqrscp, on loopback.

Each peer holds the small demo archive and knows our session listener as the move
destination TEACHFILE. Under CI a missing Orthanc or dcmtk fails the run.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from pacs_bridge.dicom import scu
from pacs_bridge.dicom.errors import MoveDestinationUnknown, RetrieveFailed
from pacs_bridge.dicom.sample_data import demo_uid
from pacs_bridge.dicom.scu import Node, StudyQuery
from pacs_bridge.dicom.spool import Spool
from tests.pacs_bridge.dicom.conftest import HOST, LISTENER_AET, RunningListener
from tests.pacs_bridge.dicom.test_scu import (
    CT_SERIES,
    CT_STUDY,
    MR_STUDY,
    MR_T1,
    MR_T2,
    US_CINE,
    US_SINGLE,
    US_STUDY,
)
from tests.peers import DcmqrscpPeer, OrthancPeer

pytestmark = pytest.mark.integration


@pytest.fixture(params=["orthanc", "dcmqrscp"])
def peer(request: pytest.FixtureRequest) -> Node:
    """Each test runs against both peers."""
    if request.param == "orthanc":
        orthanc: OrthancPeer = request.getfixturevalue("orthanc")
        return Node(orthanc.aet, HOST, orthanc.dicom_port, timeout=15)
    dcmqrscp: DcmqrscpPeer = request.getfixturevalue("dcmqrscp")
    return Node(dcmqrscp.aet, HOST, dcmqrscp.port, timeout=15)


def _counts_expected(node: Node) -> bool:
    return node.ae_title != "DCMQR"  # dcmqrscp returns no Number*Related* attributes


def test_echo(peer: Node) -> None:
    assert scu.echo(peer) < 5


def test_find_studies_at_study_level(peer: Node) -> None:
    matches = scu.find_studies(peer, StudyQuery())
    assert [m.patient_id for m in matches] == ["DEMO-0003", "DEMO-0002", "DEMO-0001"]
    ct = matches[-1]
    assert (ct.study_instance_uid, ct.patient_name, ct.accession_number) == (
        CT_STUDY,
        "DEMO^CHEST CT",
        "DEMOACC0001",
    )
    assert ct.study_date == "20240115"
    assert ct.study_description == "CT CHEST WITH CONTRAST"
    if _counts_expected(peer):
        assert (ct.number_of_series, ct.number_of_instances) == (1, 6)
        assert ct.modalities_in_study == ("CT",)
    else:
        assert (ct.number_of_series, ct.number_of_instances) == (None, None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (StudyQuery(patient_id="DEMO-0002"), {"DEMO-0002"}),
        (StudyQuery(patient_name="DEMO^BRAIN"), {"DEMO-0002"}),
        (StudyQuery(accession_number="DEMOACC0003"), {"DEMO-0003"}),
        (StudyQuery(description="CHEST"), {"DEMO-0001"}),
    ],
)
def test_find_studies_with_keys_and_wildcards(
    peer: Node, query: StudyQuery, expected: set[str]
) -> None:
    assert {m.patient_id for m in scu.find_studies(peer, query)} == expected


def test_find_studies_by_date_range(peer: Node) -> None:
    from datetime import date

    query = StudyQuery(date_from=date(2024, 2, 1), date_to=date(2024, 12, 31))
    assert {m.patient_id for m in scu.find_studies(peer, query)} == {"DEMO-0002", "DEMO-0003"}


def test_find_studies_by_modality(peer: Node) -> None:
    found = {m.patient_id for m in scu.find_studies(peer, StudyQuery(modality="MR"))}
    if _counts_expected(peer):
        assert found == {"DEMO-0002"}
    else:  # dcmqrscp neither matches nor returns ModalitiesInStudy: nothing to filter on
        assert "DEMO-0002" in found


def test_find_series_and_instances(peer: Node) -> None:
    series = scu.find_series(peer, MR_STUDY)
    assert [(s.series_instance_uid, s.series_number, s.modality) for s in series] == [
        (MR_T1, 3, "MR"),
        (MR_T2, 4, "MR"),
    ]
    if _counts_expected(peer):  # dcmqrscp returns neither counts nor SeriesDescription
        assert series[0].series_description == "AX T1"
        assert series[0].number_of_instances == 3
    uids = scu.find_instances(peer, CT_STUDY, CT_SERIES)
    assert uids == [demo_uid(f"ct/series/2/instance/{i}") for i in range(1, 7)]


def _arrived(listener: RunningListener, series_uid: str) -> set[str]:
    return {pydicom.dcmread(p).SOPInstanceUID for p in listener.spool.files_for_series(series_uid)}


def test_move_of_a_series_to_our_listener(peer: Node, session_listener: RunningListener) -> None:
    progress: list[scu.Progress] = []
    result = scu.move(
        peer,
        destination_ae=LISTENER_AET,
        study_instance_uid=MR_STUDY,
        series_instance_uids=[MR_T1],
        on_progress=progress.append,
    )
    assert (result.status, result.completed, result.failed) == (0x0000, 3, 0)
    assert progress and progress[-1].completed >= 2
    assert _arrived(session_listener, MR_T1) == set(scu.find_instances(peer, MR_STUDY, MR_T1))


def test_move_of_two_series_and_of_single_instances(
    peer: Node, session_listener: RunningListener
) -> None:
    result = scu.move(
        peer,
        destination_ae=LISTENER_AET,
        study_instance_uid=US_STUDY,
        series_instance_uids=[US_SINGLE, US_CINE],
    )
    assert result.completed == 2
    assert len(_arrived(session_listener, US_CINE)) == 1
    wanted = [demo_uid("ct/series/2/instance/1"), demo_uid("ct/series/2/instance/6")]
    result = scu.move(
        peer,
        destination_ae=LISTENER_AET,
        study_instance_uid=CT_STUDY,
        series_instance_uids=[CT_SERIES],
        sop_instance_uids=wanted,
    )
    assert (result.completed, result.failed) == (2, 0)
    assert set(wanted) <= _arrived(session_listener, CT_SERIES)


def test_get_of_a_series(peer: Node, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "get")
    result = scu.get(
        peer, spool=spool, study_instance_uid=CT_STUDY, series_instance_uids=[CT_SERIES]
    )
    assert (result.status, result.completed, result.failed) == (0x0000, 6, 0)
    assert len(spool.files_for_series(CT_SERIES)) == 6
    result = scu.get(peer, spool=spool, study_instance_uid=US_STUDY)
    assert result.completed == 2
    cine = pydicom.dcmread(spool.files_for_series(US_CINE)[0])
    assert cine.pixel_array.shape == (3, 480, 640, 3)


def test_an_unregistered_move_destination_is_named_in_the_message(
    orthanc: OrthancPeer, dcmqrscp: DcmqrscpPeer
) -> None:
    """dcmqrscp answers 0xA801 (PS3.4); Orthanc 1.10 answers 0xC000 before sending
    anything, so the message says what is the most likely cause."""
    node = Node(dcmqrscp.aet, HOST, dcmqrscp.port, timeout=15)
    with pytest.raises(MoveDestinationUnknown, match="does not know our AE title NOBODY"):
        scu.move(node, destination_ae="NOBODY", study_instance_uid=CT_STUDY)
    node = Node(orthanc.aet, HOST, orthanc.dicom_port, timeout=15)
    with pytest.raises(RetrieveFailed) as info:
        scu.move(
            node,
            destination_ae="NOBODY",
            study_instance_uid=CT_STUDY,
            destination_address="127.0.0.1:11112",
        )
    assert info.value.status == 0xC000
    assert info.value.message == (
        "The PACS could not start sending the files: status 0xC000 (the PACS was unable to "
        "process the request). Most often this means it does not know our AE title NOBODY "
        "as a move destination, or cannot connect to it: ask its admin to add NOBODY at "
        "127.0.0.1:11112."
    )


def test_a_pacs_sends_what_we_move_as_its_own_ae_title_from_its_address(
    peer: Node, session_listener: RunningListener
) -> None:
    """So a PACS node row with the PACS's AE title and host admits its C-STOREs (the
    listener's admission, ADR 0006): Orthanc sends as its DicomAet, dcmqrscp as the AE
    title it was called by."""
    session_listener.peers_seen.clear()
    result = scu.move(
        peer, destination_ae=LISTENER_AET, study_instance_uid=MR_STUDY, series_instance_uids=[MR_T2]
    )
    assert result.completed == 3
    assert set(session_listener.peers_seen) == {(peer.ae_title, HOST)}
