"""In-process DICOM peers on free loopback ports, and the real ones (Orthanc, dcmqrscp).

Fast tests get a fresh demo PACS (pynetdicom, over a small generated archive) and a
fresh listener with its own spool for each test; starting either takes milliseconds.
Integration tests share one Orthanc and one dcmqrscp per session (``tests/peers.py``).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pynetdicom.transport import ThreadedAssociationServer

from pacs_bridge.dicom import listener
from pacs_bridge.dicom.demo_pacs import DemoArchive, build_demo_ae, demo_handlers
from pacs_bridge.dicom.policy import Admission
from pacs_bridge.dicom.sample_data import build_demo_studies
from pacs_bridge.dicom.scu import Node
from pacs_bridge.dicom.spool import Spool
from tests.conftest import require
from tests.peers import (
    DcmqrscpPeer,
    OrthancPeer,
    dcmtk_available,
    free_port,
    orthanc_available,
    run_dcmqrscp,
    run_orthanc,
)

HOST = "127.0.0.1"
LISTENER_AET = "TEACHFILE"
PACS_AET = "DEMOPACS"


def stop_server(server: ThreadedAssociationServer) -> None:
    """``server.shutdown()`` without waiting up to 0.5 s for socketserver's next poll:
    a connection wakes its loop, which then sees the shutdown request."""
    stopper = threading.Thread(target=server.shutdown)
    stopper.start()
    while stopper.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection(server.server_address[:2], timeout=0.2).close()
        stopper.join(0.05)


@pytest.fixture(scope="session")
def archive_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo archive: CT 6 slices, MR 2 x 3, US single + 3-frame cine (14 files)."""
    folder = tmp_path_factory.mktemp("archive")
    build_demo_studies(folder, ct_slices=6, mr_slices=3, cine_frames=3)
    return folder


@dataclass
class RunningListener:
    ae_title: str
    port: int
    spool: Spool
    server: ThreadedAssociationServer
    stored: list[Path] = field(default_factory=list)
    #: (calling AE title, address) of each association a peer opened
    peers_seen: list[tuple[str, str]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


@pytest.fixture
def our_listener(spool: Spool) -> Iterator[RunningListener]:
    """Our Storage SCP with a fresh spool (chunked receive, as in production)."""
    port = free_port()
    stored: list[Path] = []
    server = listener.serve(LISTENER_AET, HOST, port, spool, block=False, on_stored=stored.append)
    assert server is not None
    yield RunningListener(LISTENER_AET, port, spool, server, stored)
    stop_server(server)


@dataclass
class RunningPacs:
    node: Node
    archive: DemoArchive
    server: ThreadedAssociationServer
    destinations: dict[str, tuple[str, int]]


PacsFactory = Callable[..., RunningPacs]


@pytest.fixture
def start_pacs(archive_folder: Path) -> Iterator[PacsFactory]:
    """Start demo PACSes: ``start_pacs(destinations=..., folder=..., wrap=...)``.

    ``wrap`` maps an event to a function ``(handler) -> handler`` to tamper with the
    PACS's behaviour (slow answers, aborts).
    """
    servers: list[ThreadedAssociationServer] = []

    def start(
        *,
        destinations: dict[str, tuple[str, int]] | None = None,
        folder: Path | None = None,
        require_called_aet: bool = False,
        wrap: dict[Any, Callable[[Any], Any]] | None = None,
        timeout: float = 10,
    ) -> RunningPacs:
        archive = DemoArchive(folder or archive_folder)
        port = free_port()
        ae = build_demo_ae(PACS_AET, require_called_aet=require_called_aet)
        handlers = demo_handlers(archive, destinations or {})
        if wrap:
            handlers = [
                (event, wrap[event](handler) if event in wrap else handler, args)
                for event, handler, args in handlers
            ]
        server = ae.start_server((HOST, port), block=False, evt_handlers=handlers)
        assert server is not None
        servers.append(server)
        node = Node(PACS_AET, HOST, port, calling_ae_title=LISTENER_AET, timeout=timeout)
        return RunningPacs(node, archive, server, destinations or {})

    yield start
    for server in servers:
        stop_server(server)


@pytest.fixture
def pacs(start_pacs: PacsFactory, our_listener: RunningListener) -> RunningPacs:
    """The demo PACS, knowing our listener as the move destination TEACHFILE."""
    return start_pacs(destinations={LISTENER_AET: (HOST, our_listener.port)})


@pytest.fixture
def archive_copy(archive_folder: Path, tmp_path: Path) -> Path:
    """A copy of the demo archive that a test may damage."""
    target = tmp_path / "archive-copy"
    shutil.copytree(archive_folder, target)
    return target


# -- real peers (integration) -----------------------------------------------------------
@pytest.fixture(scope="session")
def session_listener(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningListener]:
    """Our listener for the whole session: real peers are told its port once. It lets
    every peer in, noting the calling AE title and address of each."""
    spool = Spool(tmp_path_factory.mktemp("session-spool"))
    port = free_port()
    stored: list[Path] = []
    seen: list[tuple[str, str]] = []

    def note_peer(ae_title: str, address: str) -> bool:
        seen.append((ae_title, address))
        return True

    server = listener.serve(
        LISTENER_AET, HOST, port, spool, block=False, on_stored=stored.append,
        admission=Admission(peer=note_peer),
    )  # fmt: skip
    assert server is not None
    yield RunningListener(LISTENER_AET, port, spool, server, stored, seen)
    stop_server(server)


@pytest.fixture(scope="session")
def orthanc(
    tmp_path_factory: pytest.TempPathFactory,
    archive_folder: Path,
    session_listener: RunningListener,
) -> Iterator[OrthancPeer]:
    """A real Orthanc holding the demo archive, knowing our listener as ``teachfile``."""
    require(orthanc_available(), "Orthanc (/usr/sbin/Orthanc)")
    files = sorted(p for p in archive_folder.rglob("*.dcm"))
    with run_orthanc(tmp_path_factory.mktemp("orthanc")) as peer:
        assert peer.upload(files) == len(files)
        peer.register_modality("teachfile", LISTENER_AET, HOST, session_listener.port)
        yield peer


@pytest.fixture(scope="session")
def dcmqrscp(
    tmp_path_factory: pytest.TempPathFactory,
    archive_folder: Path,
    session_listener: RunningListener,
) -> Iterator[DcmqrscpPeer]:
    """dcmtk's dcmqrscp holding the demo archive, with our listener in its HostTable."""
    require(dcmtk_available(), "dcmtk (dcmqrscp, storescu)")
    hosts = {"teachfile": (LISTENER_AET, HOST, session_listener.port)}
    with run_dcmqrscp(tmp_path_factory.mktemp("dcmqrscp"), hosts=hosts) as peer:
        peer.load(archive_folder)
        yield peer
