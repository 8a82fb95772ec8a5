"""Query/Retrieve client: C-ECHO, C-FIND, C-MOVE and C-GET against a PACS.

Study Root information model throughout (PS3.4 C.6.2). Each call opens its own
association and releases it, so calls are independent and thread-safe. Every failure
is raised as a ``PacsError`` subclass whose ``message`` a person understands.

``Node.timeout`` bounds the TCP connect, the association negotiation (ACSE) and the
silence between two DIMSE messages: a retrieve may take as long as it needs as long as
the PACS keeps sending pending responses (or, for C-GET, files).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pynetdicom import AE, build_context, evt
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext

from pacs_bridge.dicom.contexts import (
    STUDY_ROOT_FIND,
    STUDY_ROOT_GET,
    STUDY_ROOT_MOVE,
    VERIFICATION,
    get_contexts,
)
from pacs_bridge.dicom.errors import (
    AssociationAborted,
    AssociationRejected,
    MoveDestinationUnknown,
    PacsError,
    PacsTimeout,
    PacsUnreachable,
    QueryFailed,
    RetrieveFailed,
    ServiceNotSupported,
    is_failure,
    status_text,
)
from pacs_bridge.dicom.listener import (
    MAX_PDU,
    connection_closed,
    handle_store,
    limit_pdu_length,
    tune_connection,
    tune_pynetdicom,
)
from pacs_bridge.dicom.spool import Spool

PENDING = (0xFF00, 0xFF01)
MOVE_DESTINATION_UNKNOWN = 0xA801


@dataclass(frozen=True)
class Node:
    """A remote DICOM application entity and how we call it."""

    ae_title: str
    host: str
    port: int
    calling_ae_title: str = "TEACHFILE"
    timeout: float = 30

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class StudyMatch:
    study_instance_uid: str
    patient_name: str
    patient_id: str
    accession_number: str
    study_date: str
    study_description: str
    modalities_in_study: tuple[str, ...]
    number_of_series: int | None
    number_of_instances: int | None


@dataclass(frozen=True)
class SeriesMatch:
    series_instance_uid: str
    modality: str
    series_description: str
    series_number: int | None
    number_of_instances: int | None
    sop_class_uid: str | None = None


@dataclass(frozen=True)
class StudyQuery:
    """What an author searches by; empty fields match everything.

    ``patient_name`` and ``description`` without a wildcard of their own are searched
    as a prefix (``SMITH`` -> ``SMITH*``) and as a substring (``chest`` -> ``*chest*``).
    Case sensitivity is the PACS's (Orthanc ignores case in names, dcmqrscp does not).
    """

    patient_id: str = ""
    patient_name: str = ""
    accession_number: str = ""
    date_from: date | None = None
    date_to: date | None = None
    modality: str = ""
    description: str = ""

    def identifier(self) -> Dataset:
        """The Study Root C-FIND identifier at STUDY level (PS3.4 C.6.2.1.2)."""
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.StudyInstanceUID = ""
        ds.PatientName = _with_wildcard(self.patient_name, prefix=False)
        ds.PatientID = self.patient_id.strip()
        ds.AccessionNumber = self.accession_number.strip()
        ds.StudyDate = date_range(self.date_from, self.date_to)
        ds.StudyTime = ""
        ds.StudyDescription = _with_wildcard(self.description, prefix=True)
        ds.ModalitiesInStudy = self.modality.strip().upper()
        ds.NumberOfStudyRelatedSeries = None
        ds.NumberOfStudyRelatedInstances = None
        return ds


@dataclass
class Progress:
    remaining: int | None
    completed: int
    failed: int
    warning: int


ProgressCallback = Callable[[Progress], None]


@dataclass
class RetrieveResult:
    status: int
    completed: int
    failed: int
    warning: int
    failed_sop_instance_uids: list[str] = field(default_factory=list)


def date_range(date_from: date | None, date_to: date | None) -> str:
    """PS3.4 C.2.2.2.5 range matching: ``YYYYMMDD-YYYYMMDD``, open ends, or one date."""
    low = date_from.strftime("%Y%m%d") if date_from else ""
    high = date_to.strftime("%Y%m%d") if date_to else ""
    if low and low == high:
        return low
    if not low and not high:
        return ""
    return f"{low}-{high}"


def _with_wildcard(value: str, *, prefix: bool) -> str:
    value = value.strip()
    if not value or "*" in value or "?" in value:
        return value
    return f"*{value}*" if prefix else f"{value}*"


# -- associations ----------------------------------------------------------------------
_REJECT_REASONS = {
    (1, 1): "no reason given",
    (1, 2): "application context name not supported",
    (1, 3): "it does not know our AE title",
    (1, 7): "its AE title is not the one we called",
    (2, 1): "no reason given",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "too many connections",
}


def _ae(node: Node) -> AE:
    tune_pynetdicom()
    ae = AE(ae_title=node.calling_ae_title)
    ae.acse_timeout = node.timeout
    ae.dimse_timeout = node.timeout
    ae.network_timeout = node.timeout
    ae.connection_timeout = node.timeout
    ae.maximum_pdu_size = MAX_PDU  # what C-GET sends us: see listener.build_listener_ae
    return ae


def _unreachable_reason(node: Node) -> str:
    """Why a TCP connection fails, found by trying once more (pynetdicom only logs it)."""
    try:
        with socket.create_connection((node.host, node.port), timeout=min(node.timeout, 10)):
            return "the connection was closed at once"
    except socket.gaierror:
        return f"the host name {node.host} is unknown"
    except TimeoutError:
        return f"no reply within {min(node.timeout, 10):g} s"
    except OSError as exc:
        if exc.errno == errno.ECONNREFUSED:
            return "connection refused"
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "no route to the host"
        return exc.strerror or type(exc).__name__


def _association_error(
    node: Node, assoc: Association, connected: bool, elapsed: float
) -> PacsError:
    if not connected:
        return PacsUnreachable(
            f"The PACS at {node.address} did not answer ({_unreachable_reason(node)})."
        )
    rsp = assoc.acceptor.primitive
    if assoc.is_rejected and rsp is not None:
        result, source, diagnostic = (
            int(rsp.result or 0),
            int(rsp.result_source or 0),
            int(rsp.diagnostic or 0),
        )
        reason = _REJECT_REASONS.get((source, diagnostic), f"source {source}, reason {diagnostic}")
        if source == 3 or result == 2:  # transient: presentation layer or "try later"
            return AssociationRejected(
                f"The PACS at {node.address} refused the connection for now ({reason}): "
                "try again later."
            )
        return AssociationRejected(
            f"The PACS refused the connection: our AE title {node.calling_ae_title} or its "
            f"AE title {node.ae_title} is not what it expects (reason: {reason})."
        )
    if rsp is not None and rsp.result == 0:
        return ServiceNotSupported(
            f"The PACS at {node.address} accepted the connection but none of the services "
            "we asked for."
        )
    if elapsed >= node.timeout * 0.9:
        return PacsTimeout(f"The PACS did not answer within {node.timeout:g} s.")
    return AssociationRejected(
        f"The PACS at {node.address} closed the connection instead of accepting it: check "
        f"that this is its DICOM port and that it knows our AE title {node.calling_ae_title}."
    )


@contextlib.contextmanager
def _association(
    node: Node,
    contexts: list[PresentationContext],
    *,
    ext_neg: list[Any] | None = None,
    evt_handlers: list[Any] | None = None,
) -> Iterator[Association]:
    """An established association, released on exit (aborted on an exception)."""
    opened: list[bool] = []
    handlers = [
        (evt.EVT_CONN_OPEN, lambda event: opened.append(True)),
        (evt.EVT_CONN_OPEN, tune_connection),
        (evt.EVT_CONN_OPEN, limit_pdu_length),
        *(evt_handlers or []),
    ]
    start = time.monotonic()
    try:
        assoc = _ae(node).associate(
            node.host,
            node.port,
            contexts=contexts,
            ae_title=node.ae_title,
            ext_neg=ext_neg,
            evt_handlers=handlers,
        )
    except OSError:  # pynetdicom resolves the host name itself: gaierror
        raise PacsUnreachable(
            f"The PACS at {node.address} did not answer ({_unreachable_reason(node)})."
        ) from None
    if not assoc.is_established:
        raise _association_error(node, assoc, bool(opened), time.monotonic() - start)
    try:
        yield assoc
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
    if assoc.is_established:
        assoc.release()


def _require_context(node: Node, assoc: Association, abstract_syntax: str, what: str) -> int:
    for cx in assoc.accepted_contexts:
        if cx.abstract_syntax == abstract_syntax:
            return int(cx.context_id)  # type: ignore[arg-type]
    assoc.release()
    raise ServiceNotSupported(
        f"The PACS at {node.address} accepted the connection but does not offer {what}."
    )


def _lost(node: Node, assoc: Association, during: str) -> PacsError:
    """The DIMSE exchange ended without a final response: our timeout, or their abort."""
    if getattr(assoc, "_sent_abort", False):  # pynetdicom aborts on its DIMSE timeout
        return PacsTimeout(f"The PACS did not answer within {node.timeout:g} s.")
    return AssociationAborted(f"The PACS dropped the connection during the {during}.")


# -- C-ECHO ----------------------------------------------------------------------------
def echo(node: Node) -> float:
    """C-ECHO (PS3.7 9.1.5): seconds from connecting to the echo response."""
    start = time.monotonic()
    with _association(node, [build_context(VERIFICATION)]) as assoc:
        status = assoc.send_c_echo()
        if "Status" not in status:
            raise _lost(node, assoc, "echo")
        if status.Status != 0x0000:
            raise QueryFailed(
                f"The PACS answered the echo with status {status_text(status.Status)}."
            )
        return time.monotonic() - start


# -- C-FIND ----------------------------------------------------------------------------
def _find(node: Node, identifier: Dataset, *, limit: int | None = None) -> list[Dataset]:
    model = STUDY_ROOT_FIND
    results: list[Dataset] = []
    with _association(node, [build_context(model)]) as assoc:
        cx_id = _require_context(node, assoc, model, "Study Root C-FIND")
        cancelled = False
        for status, response in assoc.send_c_find(identifier, model, msg_id=1):
            if not status or "Status" not in status:
                raise _lost(node, assoc, "search")
            code = int(status.Status)
            if code in PENDING:
                if response is not None and not cancelled:
                    results.append(response)
                if limit is not None and len(results) >= limit and not cancelled:
                    assoc.send_c_cancel(1, cx_id)  # PS3.4 C.4.1.2.3: C-FIND-CANCEL
                    cancelled = True
                continue
            if is_failure(code):
                raise QueryFailed(f"The PACS could not search: status {status_text(code)}.")
            break
    return results


def _str(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def _multi(ds: Dataset, keyword: str) -> tuple[str, ...]:
    value = ds.get(keyword)
    if value is None or value == "":
        return ()
    values = value if isinstance(value, MultiValue | list) else str(value).split("\\")
    return tuple(str(v).strip() for v in values if str(v).strip())


def find_studies(node: Node, query: StudyQuery, *, limit: int = 200) -> list[StudyMatch]:
    """Studies matching ``query`` (at most ``limit``; the rest are cancelled), newest first.

    Count attributes the PACS does not return (dcmqrscp returns none) are None. When
    the PACS returns ModalitiesInStudy without matching on it, the filter is applied
    here; a study without the attribute is kept (we cannot tell).
    """
    matches = []
    modality = query.modality.strip().upper()
    for ds in _find(node, query.identifier(), limit=limit):
        uid = _str(ds, "StudyInstanceUID")
        if not uid:
            continue
        modalities = _multi(ds, "ModalitiesInStudy")
        if modality and modalities and modality not in modalities:
            continue
        matches.append(
            StudyMatch(
                study_instance_uid=uid,
                patient_name=_str(ds, "PatientName"),
                patient_id=_str(ds, "PatientID"),
                accession_number=_str(ds, "AccessionNumber"),
                study_date=_str(ds, "StudyDate"),
                study_description=_str(ds, "StudyDescription"),
                modalities_in_study=modalities,
                number_of_series=_int(ds, "NumberOfStudyRelatedSeries"),
                number_of_instances=_int(ds, "NumberOfStudyRelatedInstances"),
            )
        )
    matches.sort(key=lambda m: m.study_date, reverse=True)
    return matches


def find_series(node: Node, study_instance_uid: str) -> list[SeriesMatch]:
    """The series of a study (SERIES level), by series number."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "SERIES"
    ds.StudyInstanceUID = study_instance_uid
    ds.SeriesInstanceUID = ""
    ds.Modality = ""
    ds.SeriesDescription = ""
    ds.SeriesNumber = None
    ds.NumberOfSeriesRelatedInstances = None
    ds.SOPClassUID = ""  # not a standard series key (many PACS leave it out)
    series = [
        SeriesMatch(
            series_instance_uid=_str(r, "SeriesInstanceUID"),
            modality=_str(r, "Modality"),
            series_description=_str(r, "SeriesDescription"),
            series_number=_int(r, "SeriesNumber"),
            number_of_instances=_int(r, "NumberOfSeriesRelatedInstances"),
            sop_class_uid=_str(r, "SOPClassUID") or None,
        )
        for r in _find(node, ds)
        if _str(r, "SeriesInstanceUID")
    ]
    series.sort(key=lambda s: (s.series_number is None, s.series_number or 0))
    return series


def find_instances(node: Node, study_instance_uid: str, series_instance_uid: str) -> list[str]:
    """SOP Instance UIDs of a series (IMAGE level), by instance number."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "IMAGE"
    ds.StudyInstanceUID = study_instance_uid
    ds.SeriesInstanceUID = series_instance_uid
    ds.SOPInstanceUID = ""
    ds.InstanceNumber = None
    found = [(r, _str(r, "SOPInstanceUID")) for r in _find(node, ds)]
    found.sort(
        key=lambda item: (
            _int(item[0], "InstanceNumber") is None,
            _int(item[0], "InstanceNumber") or 0,
        )
    )
    return [uid for _, uid in found if uid]


# -- C-MOVE / C-GET --------------------------------------------------------------------
def retrieve_identifier(
    study_instance_uid: str,
    series_instance_uids: Sequence[str] = (),
    sop_instance_uids: Sequence[str] = (),
) -> Dataset:
    """Study Root retrieve identifier (PS3.4 C.4.2.2.1): STUDY, SERIES or IMAGE level,
    with a list of UIDs at the retrieve level."""
    ds = Dataset()
    ds.StudyInstanceUID = study_instance_uid
    if sop_instance_uids:
        if len(series_instance_uids) != 1:
            raise ValueError("an IMAGE-level retrieve needs exactly one series UID")
        ds.QueryRetrieveLevel = "IMAGE"
        ds.SeriesInstanceUID = series_instance_uids[0]
        ds.SOPInstanceUID = list(sop_instance_uids)
    elif series_instance_uids:
        ds.QueryRetrieveLevel = "SERIES"
        ds.SeriesInstanceUID = list(series_instance_uids)
    else:
        ds.QueryRetrieveLevel = "STUDY"
    return ds


def _progress(status: Dataset, last: Progress) -> Progress:
    def count(keyword: str, previous: int | None) -> int | None:
        value = status.get(keyword)
        return previous if value is None else int(value)

    return Progress(
        remaining=count("NumberOfRemainingSuboperations", None),
        completed=count("NumberOfCompletedSuboperations", last.completed) or 0,
        failed=count("NumberOfFailedSuboperations", last.failed) or 0,
        warning=count("NumberOfWarningSuboperations", last.warning) or 0,
    )


def _collect(
    node: Node,
    assoc: Association,
    responses: Iterator[tuple[Dataset, Dataset | None]],
    on_progress: ProgressCallback | None,
    *,
    destination_ae: str | None = None,
    destination_address: str | None = None,
) -> RetrieveResult:
    last = Progress(None, 0, 0, 0)
    pending_seen = False
    for status, identifier in responses:
        if not status or "Status" not in status:
            raise _lost(node, assoc, "retrieve")
        code = int(status.Status)
        current = _progress(status, last)
        if code in PENDING:
            pending_seen = True
            last = current
            if on_progress is not None:
                on_progress(current)
            continue
        failed_uids = []
        if identifier is not None and "FailedSOPInstanceUIDList" in identifier:
            failed_uids = [u for u in _multi(identifier, "FailedSOPInstanceUIDList") if u]
        completed = current.completed
        if code == 0x0000 and "NumberOfCompletedSuboperations" not in status:
            completed = last.completed + (last.remaining or 0)  # final counts left out
        result = RetrieveResult(code, completed, current.failed, current.warning, failed_uids)
        where = f" at {destination_address}" if destination_address else ""
        if code == MOVE_DESTINATION_UNKNOWN:
            raise MoveDestinationUnknown(
                f"The PACS does not know our AE title {destination_ae} as a move "
                f"destination: ask its admin to add {destination_ae}{where}."
            )
        if is_failure(code) and result.completed == 0:
            nothing_started = not pending_seen and result.failed == result.warning == 0
            if destination_ae and nothing_started:
                # Orthanc (1.10) answers an unknown or unreachable move destination
                # with 0xC000 before any sub-operation, not with 0xA801.
                raise RetrieveFailed(
                    f"The PACS could not start sending the files: status {status_text(code)}. "
                    f"Most often this means it does not know our AE title {destination_ae} as "
                    f"a move destination, or cannot connect to it: ask its admin to add "
                    f"{destination_ae}{where}.",
                    code,
                    result,
                )
            raise RetrieveFailed(
                f"The PACS could not send the files: status {status_text(code)}.", code, result
            )
        return result
    raise _lost(node, assoc, "retrieve")


def move(
    node: Node,
    *,
    destination_ae: str,
    study_instance_uid: str,
    series_instance_uids: Sequence[str] = (),
    sop_instance_uids: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
    destination_address: str | None = None,
) -> RetrieveResult:
    """Study Root C-MOVE (PS3.4 C.4.2) of a study, series or instances to ``destination_ae``.

    Pending responses go to ``on_progress``. Returns for success (0x0000), warning
    (0xB000, some sub-operations failed) and cancel, with the counts and the failed
    SOP Instance UIDs; raises ``MoveDestinationUnknown`` for 0xA801 (the message names
    ``destination_address``, "host:port" of our listener, when given) and
    ``RetrieveFailed`` for a failure status with nothing completed.
    """
    model = STUDY_ROOT_MOVE
    identifier = retrieve_identifier(study_instance_uid, series_instance_uids, sop_instance_uids)
    with _association(node, [build_context(model)]) as assoc:
        _require_context(node, assoc, model, "Study Root C-MOVE")
        responses = assoc.send_c_move(identifier, destination_ae, model, msg_id=1)
        return _collect(
            node,
            assoc,
            responses,
            on_progress,
            destination_ae=destination_ae,
            destination_address=destination_address,
        )


def get(
    node: Node,
    *,
    spool: Spool,
    study_instance_uid: str,
    series_instance_uids: Sequence[str] = (),
    sop_instance_uids: Sequence[str] = (),
    on_progress: ProgressCallback | None = None,
    sop_classes: Sequence[str] | None = None,
) -> RetrieveResult:
    """Study Root C-GET (PS3.4 C.4.3): the PACS sends the files on this association.

    We propose one presentation context per (SOP class, transfer syntax) with the SCP
    role for storage, so a PACS that cannot transcode still finds a context for each
    file. ``sop_classes``: the series' SOP classes if C-FIND told them, else a default
    set of common image classes (files of other classes then fail as sub-operations).
    Received files go to ``spool`` through the listener's ``handle_store``.
    """
    model = STUDY_ROOT_GET
    identifier = retrieve_identifier(study_instance_uid, series_instance_uids, sop_instance_uids)
    contexts, roles = get_contexts(sop_classes, model)
    handlers = [
        (evt.EVT_C_STORE, handle_store, [spool, None]),
        (evt.EVT_CONN_CLOSE, connection_closed),  # a file of an aborted C-GET is deleted
    ]
    with _association(node, contexts, ext_neg=roles, evt_handlers=handlers) as assoc:
        _require_context(node, assoc, model, "Study Root C-GET")
        responses = assoc.send_c_get(identifier, model, msg_id=1)
        return _collect(node, assoc, responses, on_progress)


__all__ = [
    "Node",
    "Progress",
    "ProgressCallback",
    "RetrieveResult",
    "SeriesMatch",
    "StudyMatch",
    "StudyQuery",
    "date_range",
    "echo",
    "find_instances",
    "find_series",
    "find_studies",
    "get",
    "move",
    "retrieve_identifier",
]
