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

Admission (ADR 0006): with an ``Admission`` (``policy.py``) the listener accepts an
association only from a known PACS at its own address (``admit_peer``) and keeps only
instances an active import asks for (``handle_store``); refusals are counted per
calling AE title (``ListenerStats``) and logged without identifiers.

Limits: a PDU that declares more than ``MAX_RECEIVE_PDU`` aborts the association
(``limit_pdu_length``); at most ``Limits.max_associations`` associations at once;
bytes received but not yet stored are capped across associations (``ReceiveBudget``),
an instance beyond the cap is refused with 0xA700.

Speed: pynetdicom is pure Python and this receiver is CPU-bound (ENVIRONMENT.md: 171
files/s against 378 for dcmtk's storescp). ``tune_pynetdicom`` (called by ``serve``)
removes the measured costs that do not depend on us; see its docstring and
``bench/pull_bench.py``. ``TEACHINGFILE_PYNETDICOM_TUNING=0`` turns it off.
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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
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
from pacs_bridge.dicom.policy import NOT_AUTHORIZED, Admission, InstancePolicy, PeerPolicy
from pacs_bridge.dicom.spool import MetaInfo, Spool, study_and_series_from_buffer

logger = logging.getLogger(__name__)

# PS3.4 B.2.3 C-STORE statuses
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xB007  # warning: stored, but we could not sort it
CANNOT_UNDERSTAND = 0xC000

OnStored = Callable[[Path], None]

MAX_PDU = 1024 * 1024  # bytes; see build_listener_ae
#: The longest PDU we read: our Maximum Length Received (PS3.8 D.1) is the limit of a
#: P-DATA-TF PDU's variable field; the slack covers an A-ASSOCIATE-RQ with many
#: presentation contexts and user identity items. Anything longer aborts the association.
MAX_RECEIVE_PDU = MAX_PDU + 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What one listener process takes on at once."""

    max_associations: int = 8
    #: Bytes received but not yet stored (temporary files of chunked receive), summed
    #: over every association; an instance that would go beyond is refused (0xA700).
    max_bytes_in_flight: int = 4 << 30


# -- the SCP ---------------------------------------------------------------------------
def build_listener_ae(ae_title: str, limits: Limits | None = None) -> AE:
    """A Storage SCP AE: every storage SOP class with our transfer syntaxes, plus C-ECHO.

    SOP classes pynetdicom does not know (private or newer ones) are accepted per
    association by ``accept_unknown_storage`` (bound by ``store_handlers``).

    Maximum PDU size ``MAX_PDU`` (1 MiB), not 0 ("no limit"): a sender told "no limit"
    may take it literally (pynetdicom does) and send a 500 MB object as one PDU, which
    pynetdicom would then hold about three times in memory while decoding it. dcmtk
    and Orthanc send at most 128 KB per PDU whatever we say, so the limit costs nothing.

    ``limits.max_associations``: one more association is rejected, transient, "local
    limit exceeded" (PS3.8 9.3.4; pynetdicom's ``maximum_associations``).
    """
    ae = AE(ae_title=ae_title)
    ae.maximum_pdu_size = MAX_PDU
    ae.maximum_associations = (limits or Limits()).max_associations
    ae.supported_contexts = [*storage_contexts(), build_context(VERIFICATION)]
    # Also how long a connection may stay silent before its A-ASSOCIATE-RQ (ARTIM).
    ae.acse_timeout = 10
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


# -- admission -----------------------------------------------------------------------------
def _printable(text: str) -> str:
    """An AE title as it may appear in a log line (a peer can send anything)."""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text.strip())[:16] or "(none)"


def _calling_ae(event: Event) -> str:
    return str(event.assoc.requestor.ae_title or "").strip()


class ListenerStats:
    """In-process counters of what the listener did, per calling AE title: no UIDs.

    ``stored``, ``not-wanted`` (no active import asks for the instance), ``unreadable``
    (its study or series could not be read), ``over-budget``, ``write-failed``,
    ``unchecked`` (the admission check itself failed), ``failed`` (anything else),
    ``rejected`` (associations of unknown peers). Each association's refusals are
    logged in one line when it closes (``log_association``). At most ``MAX_TITLES``
    (AE title, outcome) pairs are counted apart (unknown peers choose their titles);
    the rest under the title ``(other)``.
    """

    MAX_TITLES = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.totals: Counter[tuple[str, str]] = Counter()
        self._by_association: weakref.WeakKeyDictionary[Any, Counter[str]] = (
            weakref.WeakKeyDictionary()
        )

    def count(self, assoc: Any, ae_title: str, what: str) -> None:
        with self._lock:
            if (ae_title, what) not in self.totals and len(self.totals) >= self.MAX_TITLES:
                ae_title = "(other)"
            self.totals[(ae_title, what)] += 1
            if assoc is not None:
                self._by_association.setdefault(assoc, Counter())[what] += 1

    def refused(self, ae_title: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (ae, what), n in self.totals.items()
                if what != "stored" and (ae_title is None or ae == ae_title)
            )

    def log_association(self, assoc: Any, ae_title: str) -> None:
        with self._lock:
            counts = self._by_association.pop(assoc, None)
        if not counts or set(counts) == {"stored"}:
            return
        stored = counts.pop("stored", 0)
        detail = ", ".join(f"{n} {what}" for what, n in sorted(counts.items()))
        logger.warning(
            "instances refused from %s: %s (%d stored); %d refused from it since start",
            _printable(ae_title),
            detail,
            stored,
            self.refused(ae_title),
        )


def only_verification(event: Event) -> bool:
    """The peer proposes nothing but C-ECHO: it can store nothing, whoever it is."""
    request = event.assoc.requestor.primitive
    contexts = request.presentation_context_definition_list if request is not None else []
    return bool(contexts) and all(str(cx.abstract_syntax) == VERIFICATION for cx in contexts)


#: Associations let in only for C-ECHO (see ``admit_peer``): at most this many at once,
#: idle for at most ``ECHO_ONLY_IDLE_SECONDS``, and no PDU longer than ``ECHO_ONLY_MAX_PDU``
#: (a C-ECHO request is under 100 bytes), so that peers nobody configured can neither
#: send data nor hold the places that configured PACS nodes need.
MAX_ECHO_ONLY = 2
ECHO_ONLY_IDLE_SECONDS = 5
ECHO_ONLY_MAX_PDU = 1024
_echo_only: weakref.WeakSet[Any] = weakref.WeakSet()
_echo_only_lock = threading.Lock()


def _admit_echo_only(assoc: Any) -> bool:
    """Let in one more C-ECHO-only association, on a short leash; False: too many."""
    with _echo_only_lock:
        if sum(1 for other in _echo_only if other.is_alive()) >= MAX_ECHO_ONLY:
            return False
        _echo_only.add(assoc)
    assoc.network_timeout = ECHO_ONLY_IDLE_SECONDS
    recv = getattr(getattr(assoc.dul, "socket", None), "recv", None)
    if isinstance(recv, _BoundedRecv):
        recv.limit = ECHO_ONLY_MAX_PDU
    return True


def is_echo_only(assoc: Any) -> bool:
    return assoc in _echo_only


def admit_peer(event: Event, policy: PeerPolicy, stats: ListenerStats) -> None:
    """EVT_REQUESTED: reject an association whose calling AE title is not a known PACS
    at the address it connects from: A-ASSOCIATE-RJ, rejected-permanent, source
    DICOM UL service-user, "calling-AE-title-not-recognized" (PS3.8 9.3.4, Table 9-21).

    An association that proposes only Verification is let in from anyone: it can do
    nothing but C-ECHO (the pull checks that the listener is up that way, with our own
    AE title, from wherever the worker runs): any C-STORE on it is refused, and its PDUs
    are cut short (``_admit_echo_only``). When the check itself fails (the database
    is down) the rejection is transient, "temporary congestion", so the PACS tries again.
    """
    assoc = event.assoc
    if only_verification(event):
        if not _admit_echo_only(assoc):
            stats.count(None, "(echo)", "rejected")
            assoc.acse.send_reject(0x02, 0x03, 0x02)  # transient: local limit exceeded
            assoc.kill()
        return
    request = assoc.requestor.primitive  # requestor.ae_title is set after this event
    ae_title = str(getattr(request, "calling_ae_title", "") or "").strip()
    address = str(assoc.requestor.address or "")
    try:
        known = policy(ae_title, address)
    except Exception as exc:
        logger.error(
            "could not check a peer (%s): association rejected for now", type(exc).__name__
        )
        assoc.acse.send_reject(0x02, 0x03, 0x01)
        assoc.kill()
        return
    if known:
        return
    stats.count(None, ae_title, "rejected")
    logger.warning(
        "rejected an association from %s at %s: not a configured PACS node at that address",
        _printable(ae_title),
        address,
    )
    assoc.acse.send_reject(0x01, 0x01, 0x03)
    assoc.kill()


def handle_store(
    event: Event,
    spool: Spool,
    on_stored: OnStored | None = None,
    wanted: InstancePolicy | None = None,
    stats: ListenerStats | None = None,
) -> int:
    """EVT_C_STORE: write the instance to the spool, return a PS3.4 B.2.3 status.

    0x0000 stored; 0xB007 stored in ``unsorted/`` (its Series Instance UID could not be
    read); 0xA700 the write failed (disk full, permissions) or the bytes in flight went
    beyond ``Limits.max_bytes_in_flight``; 0xC000 anything else.
    The SOP class and instance come from the C-STORE request, the transfer syntax from
    the presentation context: the data set itself is only scanned for its study and
    series.

    With ``wanted`` (the admission policy) an instance is kept only when an active
    import asks for it; otherwise it is refused with 0x0124 "Refused: Not Authorized"
    (PS3.7 Annex C, a general failure status; PS3.4 B.2.3 lists no storage-specific
    one for this), with 0xC000 when its study or series cannot be read, or with 0xA700
    when the check itself failed (the PACS may send it again), and nothing of it stays
    on disk (pynetdicom deletes the temporary file after this handler).
    """
    request = cast(C_STORE, event.request)
    ae_title = _calling_ae(event)
    outcome = "stored"
    received = getattr(request, "_dataset_file", None)
    # pynetdicom picks the service by the request's SOP class, whatever context it came
    # on: a peer let in for C-ECHO could otherwise store through Verification.
    wrong_context = is_echo_only(event.assoc) or str(event.context.abstract_syntax) != str(
        request.AffectedSOPClassUID
    )
    if isinstance(received, _PoolFile) and not received.claim():
        return OUT_OF_RESOURCES  # the association closed meanwhile: the file is gone
    try:
        sop_instance_uid = str(request.AffectedSOPInstanceUID)
        transfer_syntax = str(event.context.transfer_syntax)
        why_not: list[str] = []

        def admit(study: str | None, series: str | None) -> bool:
            if wanted is None:
                return True
            if not study or not series:
                why_not.append("unreadable")
                return False
            try:
                return wanted(ae_title, study, series, sop_instance_uid)
            except Exception as exc:  # the database is down: refuse for now
                logger.error("could not check a received instance: %s", type(exc).__name__)
                why_not.append("unchecked")
                return False

        path: Path | None
        if wrong_context:
            outcome, path = "wrong-context", None
        elif isinstance(received, _PoolFile) and received.refused:
            outcome, path = received.refused, None
        elif (dataset_path := getattr(request, "_dataset_path", None)) is not None:
            path = spool.store_received_file(
                Path(dataset_path),
                sop_instance_uid=sop_instance_uid,
                transfer_syntax_uid=transfer_syntax,
                admit=admit,
            )
        else:
            meta = MetaInfo(
                str(request.AffectedSOPClassUID), sop_instance_uid, transfer_syntax, ae_title
            )
            buffer = request.DataSet.getbuffer()  # type: ignore[union-attr]
            try:
                study, series = study_and_series_from_buffer(buffer, transfer_syntax)
                path = (
                    spool.store(meta, buffer, series_instance_uid=series or "")
                    if admit(study, series)
                    else None
                )
            finally:
                buffer.release()
        if path is None and outcome == "stored":
            outcome = why_not[0] if why_not else "not-wanted"
    except OSError as exc:
        logger.error("could not write a received instance: %s", exc.strerror or type(exc))
        outcome, path = "write-failed", None
    except Exception as exc:  # never let one bad file stop the listener
        logger.error("could not store a received instance: %s", type(exc).__name__)
        if stats is not None:
            stats.count(event.assoc, ae_title, "failed")
        return CANNOT_UNDERSTAND
    finally:
        if isinstance(received, _PoolFile):
            received.release()
    if stats is not None:
        stats.count(event.assoc, ae_title, outcome)
    if path is None:
        return {
            "not-wanted": NOT_AUTHORIZED,
            "wrong-context": NOT_AUTHORIZED,
            "unreadable": CANNOT_UNDERSTAND,
        }.get(outcome, OUT_OF_RESOURCES)
    if on_stored is not None:
        try:
            on_stored(path)
        except Exception:
            logger.exception("the on_stored callback failed (the file is stored)")
    if path.parent == spool.unsorted_dir:
        return DATASET_DOES_NOT_MATCH_SOP_CLASS
    return SUCCESS


def limit_pdu_length(event: Event, limit: int = MAX_RECEIVE_PDU) -> None:
    """EVT_CONN_OPEN: a PDU that declares more than ``limit`` bytes is not read: it is an
    invalid PDU (PS3.8 9.2, Evt19), so the association is aborted (A-ABORT, AA-1 before
    association, AA-8 after) and the connection closed. Logged with the peer's address.

    Installed on this association's socket only (no process-wide patch), in front of
    whichever ``recv`` pynetdicom has, tuned or not.
    """
    dul = event.assoc.dul
    sock = getattr(dul, "socket", None)
    if sock is None or not hasattr(sock, "recv"):
        return
    assoc = event.assoc
    peer = assoc.acceptor.address if assoc.is_requestor else assoc.requestor.address
    sock.recv = _BoundedRecv(sock.recv, limit, dul, str(peer or "?"))


class _BoundedRecv:
    def __init__(self, recv: Callable[[int], bytearray], limit: int, dul: Any, peer: str) -> None:
        self.recv, self.limit, self.dul, self.peer = recv, limit, dul, peer

    def __call__(self, nr_bytes: int) -> bytearray:
        if nr_bytes <= self.limit:
            return self.recv(nr_bytes)
        logger.warning(
            "aborted an association from %s: a PDU declared %d bytes, more than our %d",
            self.peer,
            nr_bytes,
            self.limit,
        )
        events = getattr(self.dul, "event_queue", None)
        if events is None:
            raise OSError("PDU too long")  # pynetdicom: Evt17, the connection is closed
        events.put("Evt19")  # invalid PDU: A-ABORT; the short read then closes (Evt17)
        return bytearray()


def connection_closed(event: Event, stats: ListenerStats | None = None) -> None:
    """EVT_CONN_CLOSE: delete what this association received but will never store (an
    abort mid-instance), give its bytes back to the budget, log its refusals.

    A connection that closes before its A-ASSOCIATE-RQ (a port scan, a refused PDU)
    would otherwise keep its acceptor thread, and a place under ``max_associations``,
    until the ACSE timeout (30 s): the thread is woken as if that timeout had passed.
    """
    assoc = event.assoc
    if assoc.is_acceptor and assoc.requestor.primitive is None:
        with contextlib.suppress(AttributeError):
            assoc.dul.to_user_queue.put(None)  # receive_pdu returns None: the thread ends
    pool = _pool
    if pool is not None:
        pool.discard_unfinished(event.assoc.dul)
    if stats is not None:
        stats.log_association(event.assoc, _calling_ae(event))


def store_handlers(
    spool: Spool,
    on_stored: OnStored | None = None,
    *,
    admission: Admission | None = None,
    stats: ListenerStats | None = None,
) -> list[Any]:
    """The event handlers of our Storage SCP, for ``start_server`` or ``associate``."""
    stats = stats or ListenerStats()
    admission = admission or Admission()
    handlers: list[Any] = []
    if admission.peer is not None:
        handlers.append((evt.EVT_REQUESTED, admit_peer, [admission.peer, stats]))
    return [
        *handlers,
        (evt.EVT_C_STORE, handle_store, [spool, on_stored, admission.instance, stats]),
        (evt.EVT_REQUESTED, accept_unknown_storage),
        (evt.EVT_CONN_OPEN, tune_connection),
        (evt.EVT_CONN_OPEN, limit_pdu_length),
        (evt.EVT_CONN_CLOSE, connection_closed, [stats]),
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
    admission: Admission | None = None,
    limits: Limits | None = None,
    stats: ListenerStats | None = None,
) -> ThreadedAssociationServer | None:
    """Run the Storage SCP on ``(host, port)``; with ``block=False`` return the server
    (call ``server.shutdown()`` to stop it).

    ``admission`` None lets in every peer and every instance (tests, benchmarks); the
    ``dicom_listener`` command passes the database's (``pacs_bridge.admission``).

    Process-wide: turns on chunked receive into ``spool`` (``chunked``) with the byte
    budget of ``limits``, and ``tune_pynetdicom``. One spool per process: a second
    ``serve`` with another spool moves the temporary files there.
    """
    limits = limits or Limits()
    tune_pynetdicom()
    if chunked:
        enable_chunked_receive(spool.tmp_dir, max_bytes_in_flight=limits.max_bytes_in_flight)
    else:
        disable_chunked_receive()
    ae = build_listener_ae(ae_title, limits)
    handlers = store_handlers(spool, on_stored, admission=admission, stats=stats)
    return ae.start_server((host, port), block=block, evt_handlers=handlers)


# -- chunked receive -------------------------------------------------------------------
class ReceiveBudget:
    """Bytes received but not yet stored, over every association of the process."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, count: int) -> bool:
        with self._lock:
            if self.used + count > self.limit:
                return False
            self.used += count
            return True

    def give_back(self, count: int) -> None:
        with self._lock:
            self.used = max(0, self.used - count)


class _NullSink:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _PoolFile:
    """What pynetdicom uses of a NamedTemporaryFile (name, write, file.flush, close),
    counting what is written against the pool's ``ReceiveBudget``.

    Beyond the budget, or when a write fails (disk full), the file is emptied and the
    rest of the data set is dropped as it arrives (``refused``): the handler then
    answers 0xA700 without reading it. Made in the association's DUL thread (``owner``),
    so that an association that ends mid-instance can have its file deleted.
    """

    def __init__(self, name: str, pool: TemporaryFilePool) -> None:
        self.name = name
        self.pool = pool
        self.owner = threading.current_thread()
        self.taken = 0
        self.refused = ""  # "over-budget" or "write-failed" once refused
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.file: IO[bytes] | _NullSink = os.fdopen(fd, "wb")  # pynetdicom closes it

    def write(self, data: bytes) -> int:
        if self.refused:
            return len(data)
        if not self.pool.budget.take(len(data)):
            self._refuse("over-budget")
            return len(data)
        self.taken += len(data)
        try:
            return self.file.write(data)
        except OSError:
            self._refuse("write-failed")
            return len(data)

    def _refuse(self, reason: str) -> None:
        self.refused = reason
        with contextlib.suppress(OSError):
            self.file.close()
        self.file = _NullSink()
        with contextlib.suppress(OSError):
            os.truncate(self.name, 0)
        self.release()

    def claim(self) -> bool:
        """The handler takes this file over; False if its association already dropped it."""
        return self.pool.claim(self)

    def release(self) -> None:
        taken, self.taken = self.taken, 0
        self.pool.budget.give_back(taken)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()


class TemporaryFilePool:
    """Empty temporary files made ahead of need, by a background thread.

    Making a new file (a new inode) is the costliest single step of receiving an
    instance on some file systems: about 1 ms of kernel time on this project's VMs'
    ext4, more on network storage, against 0.3 ms for all of dcmtk's work per file. A
    thread keeps ``size`` files ready in ``folder`` while the association waits on the
    network, so the receiving thread only opens an existing file. When the pool runs
    dry (a burst), files are made on the spot. ``close`` removes the files still in the
    pool; empty files left by an earlier process that was killed are removed when a
    pool starts (if another process still holds one, it is made again when used).

    Files handed out are tracked until their handler claims them (``claim``); those of
    an association that ends first are deleted (``discard_unfinished``).
    """

    def __init__(self, folder: Path, size: int = 64, max_bytes_in_flight: int = 4 << 30) -> None:
        self.folder = folder
        self.budget = ReceiveBudget(max_bytes_in_flight)
        self._ready: queue.Queue[str] = queue.Queue(maxsize=size)
        self._names = itertools.count()
        self._prefix = f"rx-{os.getpid()}-{id(self):x}-"
        self._lock = threading.Lock()
        self._handed_out: dict[str, _PoolFile] = {}
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
        handed = _PoolFile(name, self)
        with self._lock:
            self._handed_out[name] = handed
        return handed

    def claim(self, handed: _PoolFile) -> bool:
        with self._lock:
            return self._handed_out.pop(handed.name, None) is not None

    def discard_unfinished(self, owner: Any) -> int:
        """Delete the files an association (its DUL thread, ``owner``) received into
        that no handler claimed: it ended mid-instance, or before answering."""
        with self._lock:
            names = [n for n, f in self._handed_out.items() if f.owner is owner]
            dropped = [self._handed_out.pop(n) for n in names]
        for handed in dropped:
            handed.close()
            handed.release()
            with contextlib.suppress(OSError):
                os.unlink(handed.name)
        return len(dropped)

    def close(self) -> None:
        """Stop the thread and remove the files in the pool (none is left behind)."""
        self._stopped.set()
        self._thread.join(timeout=2)  # it exits within 0.5 s, unlinking a file it held
        while True:
            try:
                name = self._ready.get_nowait()
            except queue.Empty:
                break
            with contextlib.suppress(OSError):
                os.unlink(name)


_pool: TemporaryFilePool | None = None
_pool_lock = threading.Lock()


def enable_chunked_receive(tmp_dir: Path, *, max_bytes_in_flight: int | None = None) -> None:
    """Receive C-STORE data sets into temporary files in ``tmp_dir`` (process-wide).

    pynetdicom's ``STORE_RECV_CHUNKED_DATASET`` makes the temporary file with
    ``NamedTemporaryFile`` in the system temporary folder; raw files must stay in the
    incoming store (0700, on the spool's file system so that the handler's rename is
    atomic and copies nothing), so they come from a ``TemporaryFilePool`` in ``tmp_dir``,
    whose files count against ``max_bytes_in_flight`` (default ``Limits``).
    """
    global _pool
    limit = max_bytes_in_flight if max_bytes_in_flight is not None else Limits().max_bytes_in_flight
    tmp_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _pool_lock:
        if _pool is None or _pool.folder != tmp_dir:
            if _pool is not None:
                _pool.close()
            _pool = TemporaryFilePool(tmp_dir, max_bytes_in_flight=limit)
        _pool.budget.limit = limit
        dimse_messages.NamedTemporaryFile = _pool  # type: ignore[attr-defined,assignment]
        _config.STORE_RECV_CHUNKED_DATASET = True


def disable_chunked_receive() -> None:
    """Back to pynetdicom's own receive (data sets in memory); the pool's files go."""
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
#: The off switch: ``TEACHINGFILE_PYNETDICOM_TUNING=0`` leaves pynetdicom as it is
#: (slower, see ``bench/pull_bench.py``); the limits and admission work either way.
TUNING = os.environ.get("TEACHINGFILE_PYNETDICOM_TUNING", "1").lower() not in (
    "0", "false", "no", "off",
)  # fmt: skip


def _wait_for_message(thread: Any, seconds: float) -> bool:
    """Association thread: wait on its DIMSE message queue (a request to handle).

    This wait takes nothing from the queue, but it waits on the queue's ``not_empty``
    condition, where a thread blocked in ``get`` may wait too: on a requested
    association, the thread that sends a request (the demo PACS's ``send_c_store`` of
    a C-MOVE sub-operation, the worker's ``send_c_move``...) blocks in
    ``dimse.get_msg(block=True)`` for the response while the association thread should
    be paused. That thread can still be in this wait (pynetdicom lets the sender go on
    a stale ``_is_paused`` when it sends again before the thread has run since the
    previous response), and ``put`` wakes one waiter only: when it woke this one, the
    response sat in the queue while the sender slept until its DIMSE timeout (30 s, the
    load test's stalled pulls). So a wake-up that leaves a message in the queue is
    passed on (``tests/pacs_bridge/dicom/test_wakeups.py``).
    """
    waiting = getattr(getattr(thread, "dimse", None), "msg_queue", None)
    if not isinstance(waiting, queue.Queue):
        return False
    with waiting.not_empty:
        if not waiting._qsize():  # the mutex is held: qsize() would deadlock
            waiting.not_empty.wait(seconds)
        if waiting._qsize():  # not ours to take: the next waiter (a get) must see it
            waiting.not_empty.notify()
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
      sleeps 1 ms per loop: it waits on its DIMSE message queue, passing on a wake-up
      it does not use (``_wait_for_message``);
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


def tune_pynetdicom() -> list[str]:
    """Process-wide changes to pynetdicom 3.0 internals, each measured by the pull bench;
    returns the names of those applied (``tests/pacs_bridge/dicom/test_tuning.py``
    checks that each one is, on the pinned pynetdicom).

    - the reactor threads wake when work arrives instead of at their next poll
      (``_WakingTime``), and the DUL's poll for incoming data is shortened per
      association by ``tune_connection``;
    - sockets are read into one buffer per PDU (``_recv_into``);
    - the file meta of chunked receive is encoded by ``MetaInfo`` (0.003 ms) instead of
      pydicom (0.2 ms per file).

    Each is skipped if pynetdicom's internals are not where 3.0 has them, so an upgrade
    makes the listener slower, not broken. Idempotent. Nothing is changed when the off
    switch ``TEACHINGFILE_PYNETDICOM_TUNING=0`` is set (``TUNING``).
    """
    if not TUNING:
        return []
    applied = []
    if hasattr(association_module, "time"):
        association_module.time = _WakingTime(_wait_for_message)
        applied.append("association.time")
    if hasattr(dul_module, "time"):
        dul_module.time = _WakingTime(_wait_for_data)
        applied.append("dul.time")
    if hasattr(AssociationSocket, "recv"):
        AssociationSocket.recv = _recv_into  # type: ignore[method-assign]
        applied.append("AssociationSocket.recv")
    if hasattr(dimse_messages, "create_file_meta") and hasattr(
        dimse_messages, "write_file_meta_info"
    ):
        dimse_messages.create_file_meta = _fast_create_file_meta
        dimse_messages.write_file_meta_info = _fast_write_file_meta_info  # type: ignore[attr-defined]
        applied.append("dimse_messages.file_meta")
    return applied


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
    if not TUNING or not hasattr(dul, "_run_loop_delay"):
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
    "MAX_RECEIVE_PDU",
    "Limits",
    "ListenerStats",
    "ReceiveBudget",
    "TemporaryFilePool",
    "accept_unknown_storage",
    "admit_peer",
    "build_listener_ae",
    "connection_closed",
    "disable_chunked_receive",
    "enable_chunked_receive",
    "handle_store",
    "limit_pdu_length",
    "serve",
    "store_handlers",
    "tune_connection",
    "tune_pynetdicom",
]


def main(argv: list[str] | None = None) -> None:
    """``python -m pacs_bridge.dicom.listener --port 11112 --spool DIR`` (for benchmarks
    and debugging; the app runs the ``dicom_listener`` management command)."""
    import argparse

    from pacs_bridge.dicom.policy import ActiveJobs, KnownPeers, WantedInstances

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--ae-title", default="TEACHFILE")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11112)
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--no-chunked", action="store_true", help="hold data sets in memory")
    parser.add_argument(
        "--allow-peer", action="append", default=[], metavar="AET@HOST",
        help="admit only these peers (and then only studies given with --allow-study)",
    )  # fmt: skip
    parser.add_argument(
        "--allow-study", action="append", default=[], metavar="AET:STUDY_UID",
        help="store only instances of these studies sent by that AE title",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    admission = None
    if args.allow_peer:
        peers = [(ae, host) for ae, _, host in (p.partition("@") for p in args.allow_peer)]
        studies = [
            WantedInstances(ae, study) for ae, study in (s.split(":", 1) for s in args.allow_study)
        ]
        admission = Admission(
            KnownPeers(lambda: peers),
            ActiveJobs(lambda: studies),
        )
    serve(
        args.ae_title,
        args.host,
        args.port,
        Spool(args.spool),
        chunked=not args.no_chunked,
        admission=admission,
    )


if __name__ == "__main__":
    main()
