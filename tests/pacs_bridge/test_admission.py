"""The listener's admission from the database: enabled PACS nodes may connect from their
own host, and an instance is kept only while an import retrieving from that PACS asks
for its study (and series, and instance). Over a real association too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.db import connection
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE

from cases.models import ImportJob
from cases.services import case_create
from pacs_bridge.admission import known_pacs_nodes, listener_admission, wanted_instances
from pacs_bridge.dicom import listener
from pacs_bridge.dicom.contexts import VERIFICATION
from pacs_bridge.dicom.policy import WantedInstances
from pacs_bridge.dicom.spool import Spool
from pacs_bridge.models import PacsNode
from tests.pacs_bridge.dicom.conftest import HOST, LISTENER_AET, stop_server
from tests.pacs_bridge.dicom.test_listener import _dataset
from tests.peers import free_port


def _node(name: str = "Orthanc", ae_title: str = "ORTHANC", **fields: object) -> PacsNode:
    return PacsNode.objects.create(
        name=name, ae_title=ae_title, host=fields.pop("host", "127.0.0.1"), port=4242, **fields
    )


def _job(author, node: PacsNode | None, request: dict, **fields: object) -> ImportJob:
    return ImportJob.objects.create(
        case=case_create(author=author), author=author, pacs_node=node, request=request,
        source=fields.pop("source", ImportJob.Source.PACS),
        status=fields.pop("status", ImportJob.Status.RETRIEVING), **fields,
    )  # fmt: skip


@pytest.mark.django_db
def test_only_enabled_nodes_may_connect() -> None:
    _node()
    _node("Old", "OLDPACS", enabled=False)
    assert known_pacs_nodes() == [("ORTHANC", "127.0.0.1")]
    admission = listener_admission()
    assert admission.peer is not None
    assert admission.peer("ORTHANC", "127.0.0.1")
    assert not admission.peer("OLDPACS", "127.0.0.1")
    assert not admission.peer("ORTHANC", "127.0.0.2")


@pytest.mark.django_db
def test_only_retrieving_pulls_want_instances(author) -> None:
    node = _node()
    _job(author, node, {"study": "1.1", "series": []})
    _job(author, node, {"study": "1.2", "series": ["1.2.1"]}, status=ImportJob.Status.QUEUED)
    _job(author, node, {"study": "1.3", "series": []}, status=ImportJob.Status.PROCESSING)
    _job(author, node, {}, status=ImportJob.Status.DONE)
    _job(author, None, {"study": "1.4", "series": []})  # its node was deleted
    _job(author, None, {"study": "1.5"}, source=ImportJob.Source.UPLOAD)
    _job(author, node, {"series": ["no study"]})  # not a pull request at all
    assert wanted_instances() == [WantedInstances("ORTHANC", "1.1")]


@pytest.mark.django_db
def test_a_pull_wants_its_series_and_a_fetch_of_missing_images_only_those(author) -> None:
    node = _node()
    _job(author, node, {"study": "1.1", "series": ["1.1.1", "1.1.2"]})
    _job(author, node, {"study": "1.2", "series": ["1.2.1"], "instances": {"1.2.1": ["1.2.1.7"]}})
    assert sorted(wanted_instances(), key=lambda w: w.study) == [
        WantedInstances("ORTHANC", "1.1", frozenset({"1.1.1", "1.1.2"})),
        WantedInstances("ORTHANC", "1.2", frozenset({"1.2.1"}), frozenset({"1.2.1.7"})),
    ]
    admission = listener_admission()
    assert admission.instance is not None
    assert admission.instance("ORTHANC", "1.1", "1.1.2", "any")
    assert not admission.instance("ORTHANC", "1.1", "1.1.3", "any")
    assert admission.instance("ORTHANC", "1.2", "1.2.1", "1.2.1.7")
    assert not admission.instance("ORTHANC", "1.2", "1.2.1", "1.2.1.8")
    assert not admission.instance("DCMQR", "1.1", "1.1.2", "any")


# -- over a real association --------------------------------------------------------------
def _store(port: int, ae_title: str, ds) -> int | None:
    """The C-STORE status, or None when the association was rejected."""
    ae = AE(ae_title)
    ae.acse_timeout = ae.dimse_timeout = 10
    ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian])
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate(HOST, port, ae_title=LISTENER_AET)
    if assoc.is_rejected:
        return None
    assert assoc.is_established
    try:
        return int(assoc.send_c_store(ds).Status)
    finally:
        assoc.release()


def _other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_listener_lets_in_only_known_pacs_and_keeps_only_what_an_import_asks_for(
    author, tmp_path: Path
) -> None:
    node = _node()
    spool = Spool(tmp_path / "spool")
    port = free_port()
    before = _other_connections()
    server = listener.serve(
        LISTENER_AET, HOST, port, spool, block=False, admission=listener_admission()
    )
    assert server is not None
    try:
        ds = _dataset()
        assert _store(port, "INTRUDER", ds) is None  # unknown AE title: rejected
        assert _store(port, "ORTHANC", ds) == 0x0124  # known, but no import wants it
        assert not [p for p in spool.root.rglob("*") if p.is_file() and p.stat().st_size]
        # An import starts (well within the snapshot's TTL): its first instance is kept.
        _job(author, node, {"study": ds.StudyInstanceUID, "series": [ds.SeriesInstanceUID]})
        assert _store(port, "ORTHANC", ds) == 0x0000
        assert len(spool.files_for_series(ds.SeriesInstanceUID)) == 1
        other_series = _dataset()
        other_series.StudyInstanceUID = ds.StudyInstanceUID
        assert _store(port, "ORTHANC", other_series) == 0x0124
    finally:
        stop_server(server)
        listener.enable_chunked_receive(tmp_path / "elsewhere")  # what other tests expect
    deadline = time.monotonic() + 5
    while _other_connections() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _other_connections() <= before  # the association threads closed theirs
