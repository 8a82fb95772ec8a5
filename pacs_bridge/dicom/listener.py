"""Our Storage SCP (PS3.4 B.2): receives the files a C-MOVE sends us and writes them
to the spool. It never de-identifies and never logs dataset contents.

The lead's ``dicom_listener`` management command wraps ``serve``. A C-GET (``scu.get``)
binds the same ``handle_store`` on its own association.

Memory: ``serve`` turns on pynetdicom's ``STORE_RECV_CHUNKED_DATASET``: each incoming
P-DATA fragment is written straight to a temporary DICOM file (preamble, file meta,
data set) in the spool's ``.partial/`` folder, and the handler renames that file into
its series folder. A 500 MB multi-frame object never sits in memory and is written to
disk once. Without it (``chunked=False``, or a C-GET in a process that did not enable
it) the data set is held once in pynetdicom's buffer and written from a memoryview of
that buffer, never copied.

Speed: pynetdicom is pure Python and this receiver is CPU-bound (ENVIRONMENT.md: 171
files/s against 378 for dcmtk's storescp). ``tune_pynetdicom`` (called by ``serve``)
removes the measured costs that do not depend on us; see its docstring and
``bench/pull_bench.py``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import select
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID
from pynetdicom import AE, _config, dimse_messages, evt
from pynetdicom import association as association_module
from pynetdicom import dul as dul_module
from pynetdicom import sop_class as sop_class_module
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event
from pynetdicom.presentation import build_context
from pynetdicom.sop_class import _STORAGE_CLASSES
from pynetdicom.transport import AssociationSocket, ThreadedAssociationServer

from pacs_bridge.dicom.contexts import TRANSFER_SYNTAXES, VERIFICATION, storage_contexts
from pacs_bridge.dicom.spool import MetaInfo, Spool

logger = logging.getLogger(__name__)

# PS3.4 B.2.3 C-STORE statuses
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xB007  # warning: stored, but we could not sort it
CANNOT_UNDERSTAND = 0xC000

OnStored = Callable[[Path], None]

MAX_PDU = 1024 * 1024  # bytes; see build_listener_ae


# -- the SCP ---------------------------------------------------------------------------
def build_listener_ae(ae_title: str) -> AE:
    """A Storage SCP AE: every storage SOP class with our transfer syntaxes, plus C-ECHO.

    SOP classes pynetdicom does not know (private or newer ones) are accepted per
    association by ``accept_unknown_storage`` (bound by ``store_handlers``).

    Maximum PDU size ``MAX_PDU`` (1 MiB), not 0 ("no limit"): a sender told "no limit"
    may take it literally (pynetdicom does) and send a 500 MB object as one PDU, which
    pynetdicom would then hold about three times in memory while decoding it. dcmtk
    and Orthanc send at most 128 KB per PDU whatever we say, so the limit costs nothing.
    """
    ae = AE(ae_title=ae_title)
    ae.maximum_pdu_size = MAX_PDU
    ae.supported_contexts = [*storage_contexts(), build_context(VERIFICATION)]
    ae.acse_timeout = 30
    ae.dimse_timeout = 60
    ae.network_timeout = 120
    return ae


_KNOWN_SOP_CLASSES = {
    uid
    for name, uid in vars(sop_class_module).items()
    if isinstance(uid, str) and not name.startswith("_") and uid.startswith("1.2.840.10008.")
}


def accept_unknown_storage(event: Event) -> None:
    """EVT_REQUESTED: accept private/unknown abstract syntaxes as storage SOP classes.

    Like pynetdicom's ``UNRESTRICTED_STORAGE_SERVICE``, but for this AE only and with
    our transfer syntaxes, instead of for every AE in the process and whatever syntax
    the peer proposes first. The UID is also entered in pynetdicom's table of storage
    classes, without which a C-STORE of it finds no service class to run.
    """
    assoc = event.assoc
    request = assoc.requestor.primitive
    if request is None:
        return
    supported = list(assoc.acceptor.supported_contexts)
    known = {cx.abstract_syntax for cx in supported}
    extra = []
    for cx in request.presentation_context_definition_list:
        uid = UID(str(cx.abstract_syntax))
        if uid in known:
            continue
        if uid.is_private or uid not in _KNOWN_SOP_CLASSES:
            extra.append(build_context(uid, list(TRANSFER_SYNTAXES)))
            known.add(uid)
            _STORAGE_CLASSES.setdefault(f"TeachingfileAccepted_{uid}", uid)
    if extra:
        assoc.acceptor.supported_contexts = supported + extra


def handle_store(event: Event, spool: Spool, on_stored: OnStored | None = None) -> int:
    """EVT_C_STORE: write the instance to the spool, return a PS3.4 B.2.3 status.

    0x0000 stored; 0xB007 stored in ``unsorted/`` (its Series Instance UID could not be
    read); 0xA700 the write failed (disk full, permissions); 0xC000 anything else.
    The SOP class and instance come from the C-STORE request, the transfer syntax from
    the presentation context: the data set itself is only scanned for its series.
    """
    request = cast(C_STORE, event.request)
    try:
        sop_instance_uid = str(request.AffectedSOPInstanceUID)
        transfer_syntax = str(event.context.transfer_syntax)
        chunked_path = getattr(request, "_dataset_path", None)
        if chunked_path is not None:
            path = spool.store_received_file(
                Path(chunked_path),
                sop_instance_uid=sop_instance_uid,
                transfer_syntax_uid=transfer_syntax,
            )
        else:
            meta = MetaInfo(
                str(request.AffectedSOPClassUID),
                sop_instance_uid,
                transfer_syntax,
                str(event.assoc.requestor.ae_title or "").strip(),
            )
            buffer = request.DataSet.getbuffer()  # type: ignore[union-attr]
            try:
                path = spool.store(meta, buffer)
            finally:
                buffer.release()
    except OSError as exc:
        logger.error("could not write a received instance: %s", exc.strerror or type(exc))
        return OUT_OF_RESOURCES
    except Exception as exc:  # never let one bad file stop the listener
        logger.error("could not store a received instance: %s", type(exc).__name__)
        return CANNOT_UNDERSTAND
    if on_stored is not None:
        try:
            on_stored(path)
        except Exception:
            logger.exception("the on_stored callback failed (the file is stored)")
    if path.parent == spool.unsorted_dir:
        return DATASET_DOES_NOT_MATCH_SOP_CLASS
    return SUCCESS


def store_handlers(spool: Spool, on_stored: OnStored | None = None) -> list[Any]:
    """The event handlers of our Storage SCP, for ``start_server`` or ``associate``."""
    return [
        (evt.EVT_C_STORE, handle_store, [spool, on_stored]),
        (evt.EVT_REQUESTED, accept_unknown_storage),
        (evt.EVT_CONN_OPEN, tune_connection),
    ]


def serve(
    ae_title: str,
    host: str,
    port: int,
    spool: Spool,
    *,
    block: bool = True,
    on_stored: OnStored | None = None,
    chunked: bool = True,
) -> ThreadedAssociationServer | None:
    """Run the Storage SCP on ``(host, port)``; with ``block=False`` return the server
    (call ``server.shutdown()`` to stop it).

    Process-wide: turns on chunked receive into ``spool`` (``chunked``) and
    ``tune_pynetdicom``. One spool per process: a second ``serve`` with another spool
    moves the temporary files there.
    """
    tune_pynetdicom()
    if chunked:
        enable_chunked_receive(spool.tmp_dir)
    else:
        disable_chunked_receive()
    ae = build_listener_ae(ae_title)
    return ae.start_server((host, port), block=block, evt_handlers=store_handlers(spool, on_stored))


# -- chunked receive -------------------------------------------------------------------
class _PoolFile:
    """What pynetdicom uses of a NamedTemporaryFile: name, write, file.flush, close."""

    def __init__(self, name: str) -> None:
        self.name = name
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.file: IO[bytes] = os.fdopen(fd, "wb")  # pynetdicom closes it

    def write(self, data: bytes) -> int:
        return self.file.write(data)

    def close(self) -> None:
        self.file.close()


class TemporaryFilePool:
    """Empty temporary files made ahead of need, by a background thread.

    Making a new file (a new inode) is the costliest single step of receiving an
    instance on some file systems: about 1 ms of kernel time on this project's VMs'
    ext4, more on network storage, against 0.3 ms for all of dcmtk's work per file. A
    thread keeps ``size`` files ready in ``folder`` while the association waits on the
    network, so the receiving thread only opens an existing file. When the pool runs
    dry (a burst), files are made on the spot. Empty files left by an earlier process
    are removed when a pool starts (if another process still holds one, it is made
    again when used); a partly written one (a crash mid-receive) stays until
    ``Spool.discard_older_than``.
    """

    def __init__(self, folder: Path, size: int = 64) -> None:
        self.folder = folder
        self._ready: queue.Queue[str] = queue.Queue(maxsize=size)
        self._names = itertools.count()
        self._prefix = f"rx-{os.getpid()}-{id(self):x}-"
        for stale in folder.glob("rx-*.dcm"):  # empty ones left by an earlier process
            with contextlib.suppress(OSError):
                if stale.stat().st_size == 0:
                    stale.unlink()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._fill, name="spool-file-pool", daemon=True)
        self._thread.start()

    def _make(self) -> str:
        name = os.path.join(self.folder, f"{self._prefix}{next(self._names)}.dcm")
        os.close(os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return name

    def _fill(self) -> None:
        while not self._stopped.is_set():
            try:
                name = self._make()
            except OSError:  # folder removed, disk full: retry later, take() copes
                self._stopped.wait(1)
                continue
            while not self._stopped.is_set():
                try:
                    self._ready.put(name, timeout=0.5)
                    break
                except queue.Full:
                    continue
            else:
                with contextlib.suppress(OSError):
                    os.unlink(name)

    def __call__(self, **_: Any) -> _PoolFile:
        """Called by pynetdicom as ``NamedTemporaryFile(delete=False, mode="wb", ...)``."""
        try:
            name = self._ready.get_nowait()
        except queue.Empty:
            name = self._make()
        return _PoolFile(name)

    def close(self) -> None:
        """Stop the thread (it exits within 0.5 s) and remove the files in the pool."""
        self._stopped.set()
        while True:
            try:
                name = self._ready.get_nowait()
            except queue.Empty:
                break
            with contextlib.suppress(OSError):
                os.unlink(name)


_pool: TemporaryFilePool | None = None
_pool_lock = threading.Lock()


def enable_chunked_receive(tmp_dir: Path) -> None:
    """Receive C-STORE data sets into temporary files in ``tmp_dir`` (process-wide).

    pynetdicom's ``STORE_RECV_CHUNKED_DATASET`` makes the temporary file with
    ``NamedTemporaryFile`` in the system temporary folder; raw files must stay in the
    incoming store (0700, on the spool's file system so that the handler's rename is
    atomic and copies nothing), so they come from a ``TemporaryFilePool`` in ``tmp_dir``.
    """
    global _pool
    tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _pool_lock:
        if _pool is None or _pool.folder != tmp_dir:
            if _pool is not None:
                _pool.close()
            _pool = TemporaryFilePool(tmp_dir)
        dimse_messages.NamedTemporaryFile = _pool  # type: ignore[attr-defined,assignment]
        _config.STORE_RECV_CHUNKED_DATASET = True


def disable_chunked_receive() -> None:
    global _pool
    with _pool_lock:
        _config.STORE_RECV_CHUNKED_DATASET = False
        dimse_messages.NamedTemporaryFile = tempfile.NamedTemporaryFile  # type: ignore[attr-defined]
        if _pool is not None:
            _pool.close()
            _pool = None


# -- pynetdicom tuning -----------------------------------------------------------------
# pynetdicom's two threads per association poll: the DUL thread (socket <-> queues)
# sleeps 1 ms whenever it finds nothing to do, and the association thread (which runs
# our handler) sleeps 1 ms per loop. A C-STORE exchange waits on them three or four
# times per file: about 2 ms per file, as much as all the rest of the work on a 512 KB
# slice. Instead they now wait for the thing that wakes them (``_WakingTime``). Where
# that is not possible (no eventfd: not Linux) the DUL polls every ``REACTOR_DELAY``.
REACTOR_DELAY = float(os.environ.get("TEACHINGFILE_REACTOR_DELAY", "0.0002"))


def _wait_for_message(thread: Any, seconds: float) -> bool:
    """Association thread: wait on its DIMSE message queue (a request to handle)."""
    waiting = getattr(getattr(thread, "dimse", None), "msg_queue", None)
    if not isinstance(waiting, queue.Queue):
        return False
    with waiting.not_empty:
        if not waiting._qsize():  # the mutex is held: qsize() would deadlock
            waiting.not_empty.wait(seconds)
    return True


class _PokingQueue(queue.Queue):  # type: ignore[type-arg]
    """A DUL's outgoing queue that also signals an eventfd, so that the DUL thread,
    waiting on its socket, wakes as soon as there is a response to send."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        super().put(item, block, timeout)
        with contextlib.suppress(OSError):
            os.eventfd_write(self.fd, 1)


def _wait_for_data(thread: Any, seconds: float) -> bool:
    """DUL thread: wait until its socket is readable (the next PDU) or, for a listener
    association, until a primitive is queued to be sent."""
    outgoing = getattr(thread, "to_provider_queue", None)
    sock = getattr(getattr(thread, "socket", None), "socket", None)
    if outgoing is None or sock is None:
        return False
    waitables: list[Any] = [sock]
    if isinstance(outgoing, _PokingQueue):
        if outgoing._qsize():
            return True
        waitables.append(outgoing.fd)
    try:
        ready, _, _ = select.select(waitables, [], [], seconds)
        if len(waitables) > 1 and waitables[1] in ready:
            os.eventfd_read(waitables[1])
    except (OSError, ValueError):  # closed meanwhile
        return False
    return True


class _WakingTime:
    """Stands in for the ``time`` module inside a pynetdicom module.

    When one of pynetdicom's reactor threads sleeps because it found nothing to do, it
    waits for the thing that would give it something to do, so it wakes at once when
    that arrives and otherwise sleeps no longer than asked:

    - the association thread (``threading.current_thread()`` is the ``Association``)
      sleeps 1 ms per loop: it waits on its DIMSE message queue;
    - the DUL thread (the ``DULServiceProvider``) sleeps ``_run_loop_delay`` (1 ms):
      it waits for its socket to be readable or for a primitive to be queued for
      sending (``_PokingQueue``, set up by ``tune_connection``).

    Every other use of ``time``, and sleeps in any other thread, are unchanged.
    """

    def __init__(self, wait: Callable[[Any, float], bool]) -> None:
        self._wait = wait

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        if seconds > 0.01 or not self._wait(threading.current_thread(), seconds):
            time.sleep(seconds)


#: The first allocation for a PDU: a 512 KB slice arrives in one buffer, but a peer that
#: declares a 4 GB PDU in 6 bytes gets 1 MiB until it actually sends more.
_FIRST_ALLOCATION = 1 << 20


def _recv_into(self: AssociationSocket, nr_bytes: int) -> bytearray:
    """``AssociationSocket.recv`` reading straight into one buffer.

    pynetdicom reads a PDU 4 KB at a time and appends each piece: 128 system calls and
    128 small objects for a 512 KB slice (0.39 ms of CPU, against 0.14 ms this way).
    Same contract: returns fewer bytes only if the peer closed the connection. The buffer
    grows (doubling) as bytes arrive, never to the declared length up front: memory follows
    what the peer sends, not what it claims it will send.
    """
    sock = self.socket
    assert sock is not None
    buffer = bytearray(min(nr_bytes, _FIRST_ALLOCATION))
    received = 0
    while received < nr_bytes:
        if received == len(buffer):
            buffer.extend(bytes(min(len(buffer), nr_bytes - len(buffer))))
        with memoryview(buffer) as view:
            count = sock.recv_into(view[received:], len(buffer) - received)
        if not count:
            break
        received += count
    del buffer[received:]
    return buffer


def _fast_create_file_meta(
    *, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, **_: Any
) -> MetaInfo:
    return MetaInfo(str(sop_class_uid), str(sop_instance_uid), str(transfer_syntax))


def _fast_write_file_meta_info(fp: Any, file_meta: Any, enforce_standard: bool = True) -> None:
    """pynetdicom writes the preamble and ``DICM`` itself, then calls this."""
    if isinstance(file_meta, MetaInfo):
        fp.write(file_meta.encode()[132:])
    else:
        _pydicom_write_file_meta_info(fp, file_meta, enforce_standard=enforce_standard)


_pydicom_write_file_meta_info = write_file_meta_info


def tune_pynetdicom() -> None:
    """Process-wide changes to pynetdicom 3.0 internals, each measured by the pull bench.

    - the reactor threads wake when work arrives instead of at their next poll
      (``_WakingTime``), and the DUL's poll for incoming data is shortened per
      association by ``tune_connection``;
    - sockets are read into one buffer per PDU (``_recv_into``);
    - the file meta of chunked receive is encoded by ``MetaInfo`` (0.003 ms) instead of
      pydicom (0.2 ms per file).

    Each is skipped if pynetdicom's internals are not where 3.0 has them, so an upgrade
    makes the listener slower, not broken. Idempotent.
    """
    if hasattr(association_module, "time"):
        association_module.time = _WakingTime(_wait_for_message)
    if hasattr(dul_module, "time"):
        dul_module.time = _WakingTime(_wait_for_data)
    if hasattr(AssociationSocket, "recv"):
        AssociationSocket.recv = _recv_into  # type: ignore[method-assign]
    if hasattr(dimse_messages, "create_file_meta") and hasattr(
        dimse_messages, "write_file_meta_info"
    ):
        dimse_messages.create_file_meta = _fast_create_file_meta
        dimse_messages.write_file_meta_info = _fast_write_file_meta_info  # type: ignore[attr-defined]


def tune_connection(event: Event) -> None:
    """EVT_CONN_OPEN: TCP_NODELAY, and wake-ups instead of polls for this association.

    The DUL's outgoing queue signals an eventfd (``_PokingQueue``), so its thread sleeps
    until data arrives or a primitive is queued. Without eventfd (not Linux) the DUL
    polls its outgoing queue every ``REACTOR_DELAY`` instead of every 1 ms.

    Without TCP_NODELAY a small PDU written right after another (pynetdicom sends a
    command set and its data set as separate PDUs) can wait for the peer's delayed ACK.
    """
    assoc = event.assoc
    dul = assoc.dul
    sock = getattr(dul.socket, "socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not hasattr(dul, "_run_loop_delay"):
        return
    # Nothing is queued when the connection opens (for a request, the A-ASSOCIATE-RQ
    # primitive was taken from the queue to open it), so the queue can be swapped.
    if hasattr(os, "eventfd") and dul.to_provider_queue.empty():
        fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        dul.to_provider_queue = _PokingQueue(fd)
        weakref.finalize(dul.to_provider_queue, os.close, fd)
    else:
        dul._run_loop_delay = REACTOR_DELAY


__all__ = [
    "TemporaryFilePool",
    "accept_unknown_storage",
    "build_listener_ae",
    "disable_chunked_receive",
    "enable_chunked_receive",
    "handle_store",
    "serve",
    "store_handlers",
    "tune_connection",
    "tune_pynetdicom",
]


def main(argv: list[str] | None = None) -> None:
    """``python -m pacs_bridge.dicom.listener --port 11112 --spool DIR`` (for benchmarks
    and debugging; the app runs the ``dicom_listener`` management command)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--ae-title", default="TEACHFILE")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11112)
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--no-chunked", action="store_true", help="hold data sets in memory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    serve(args.ae_title, args.host, args.port, Spool(args.spool), chunked=not args.no_chunked)


if __name__ == "__main__":
    main()
