"""A built-in Query/Retrieve SCP over a folder of DICOM files (PS3.4 Annex C).

So that ``make run`` has a PACS to pull from without Orthanc: C-ECHO, Study Root and
Patient Root C-FIND, C-MOVE (to destinations given as AE title -> (host, port)) and
C-GET (on the same association). The folder is indexed once at start, from headers
only; files are read one at a time when they are sent.

Matching (PS3.4 C.2.2.2), what this demo supports:

- single value matching on UIDs (a list of UIDs matches any of them), PatientID,
  AccessionNumber, Modality and the other keys;
- wildcard matching with ``*`` and ``?`` on any key that has them, case-insensitive for
  PatientName and the descriptions (as most PACS do for names);
- range matching on dates (``YYYYMMDD``, ``A-B``, ``A-``, ``-B``);
- ModalitiesInStudy: a study matches when any of its series has one of the values.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID
from pynetdicom import AE, build_context, evt
from pynetdicom.events import Event
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import ThreadedAssociationServer

from pacs_bridge.dicom.contexts import (
    MAX_REQUESTED_CONTEXTS,
    PATIENT_ROOT_FIND,
    PATIENT_ROOT_GET,
    PATIENT_ROOT_MOVE,
    STORAGE_SOP_CLASSES,
    STUDY_ROOT_FIND,
    STUDY_ROOT_GET,
    STUDY_ROOT_MOVE,
    TRANSFER_SYNTAXES,
    VERIFICATION,
)
from pacs_bridge.dicom.listener import MAX_PDU, tune_connection, tune_pynetdicom

logger = logging.getLogger(__name__)

PENDING = 0xFF00
CANCEL = 0xFE00
SUCCESS = 0x0000
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000

STUDY_KEYS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
    "StudyDate", "StudyTime", "AccessionNumber", "StudyDescription", "StudyID",
    "ReferringPhysicianName",
)  # fmt: skip
SERIES_KEYS = ("SeriesInstanceUID", "Modality", "SeriesDescription", "SeriesNumber", "SeriesDate")
INSTANCE_KEYS = ("SOPInstanceUID", "SOPClassUID", "InstanceNumber", "NumberOfFrames")
PATIENT_KEYS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex")
_CASE_INSENSITIVE = {
    "PatientName",
    "StudyDescription",
    "SeriesDescription",
    "ReferringPhysicianName",
}
_DATE_KEYS = {"StudyDate", "SeriesDate", "PatientBirthDate"}
_UID_KEYS = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID"}


@dataclass
class InstanceRecord:
    path: Path
    transfer_syntax_uid: str
    attrs: dict[str, Any]


@dataclass
class SeriesRecord:
    attrs: dict[str, Any]
    instances: dict[str, InstanceRecord] = field(default_factory=dict)


@dataclass
class StudyRecord:
    attrs: dict[str, Any]
    series: dict[str, SeriesRecord] = field(default_factory=dict)

    @property
    def modalities(self) -> list[str]:
        return sorted({str(s.attrs.get("Modality", "")) for s in self.series.values()} - {""})

    @property
    def number_of_instances(self) -> int:
        return sum(len(s.instances) for s in self.series.values())


def _value(ds: Dataset, keyword: str) -> Any:
    value = ds.get(keyword, "")
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    if isinstance(value, int | float):
        return value
    return str(value)


class DemoArchive:
    """Study -> series -> instance index of a folder, read from headers only."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.studies: dict[str, StudyRecord] = {}
        self.unreadable: list[Path] = []
        self.reindex()

    def reindex(self) -> None:
        self.studies = {}
        self.unreadable = []
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            if path.name.startswith("."):
                continue
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True)
                study_uid, series_uid = str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)
                sop_uid = str(ds.SOPInstanceUID)
                ts = str(ds.file_meta.TransferSyntaxUID)
            except Exception:
                self.unreadable.append(path)
                continue
            study = self.studies.setdefault(
                study_uid, StudyRecord({k: _value(ds, k) for k in STUDY_KEYS})
            )
            series = study.series.setdefault(
                series_uid, SeriesRecord({k: _value(ds, k) for k in SERIES_KEYS})
            )
            series.instances[sop_uid] = InstanceRecord(
                path, ts, {k: _value(ds, k) for k in INSTANCE_KEYS}
            )

    # -- C-FIND ------------------------------------------------------------------------
    def find(self, identifier: Dataset) -> Iterator[Dataset]:
        """Yield the response identifiers of PS3.4 C.4.1.2.2 for a C-FIND identifier."""
        level = str(identifier.get("QueryRetrieveLevel", "")).upper()
        keys = [elem.keyword for elem in identifier if elem.keyword]
        if level == "PATIENT":
            yield from self._find_patients(identifier, keys)
            return
        for study in self._studies(identifier):
            if level == "STUDY":
                yield _response(identifier, keys, study.attrs, _study_counts(study))
                continue
            for series in self._series(study, identifier):
                if level == "SERIES":
                    classes = {str(i.attrs.get("SOPClassUID")) for i in series.instances.values()}
                    counts: dict[str, Any] = {
                        "NumberOfSeriesRelatedInstances": len(series.instances)
                    }
                    if len(classes) == 1:
                        counts["SOPClassUID"] = classes.pop()
                    yield _response(identifier, keys, {**study.attrs, **series.attrs}, counts)
                    continue
                for instance in self._instances(series, identifier):
                    values = {**study.attrs, **series.attrs, **instance.attrs}
                    yield _response(identifier, keys, values, {})

    def _find_patients(self, identifier: Dataset, keys: list[str]) -> Iterator[Dataset]:
        patients: dict[str, list[StudyRecord]] = {}
        for study in self.studies.values():
            if _matches_all(identifier, study.attrs, PATIENT_KEYS):
                patients.setdefault(str(study.attrs["PatientID"]), []).append(study)
        for studies in patients.values():
            counts = {
                "NumberOfPatientRelatedStudies": len(studies),
                "NumberOfPatientRelatedSeries": sum(len(s.series) for s in studies),
                "NumberOfPatientRelatedInstances": sum(s.number_of_instances for s in studies),
            }
            yield _response(identifier, keys, studies[0].attrs, counts)

    def _studies(self, identifier: Dataset) -> Iterator[StudyRecord]:
        wanted = _value(identifier, "ModalitiesInStudy")
        for study in self.studies.values():
            if not _matches_all(identifier, study.attrs, STUDY_KEYS):
                continue
            if wanted and not set(str(wanted).split("\\")) & set(study.modalities):
                continue
            yield study

    @staticmethod
    def _series(study: StudyRecord, identifier: Dataset) -> Iterator[SeriesRecord]:
        for series in study.series.values():
            if _matches_all(identifier, series.attrs, SERIES_KEYS):
                yield series

    @staticmethod
    def _instances(series: SeriesRecord, identifier: Dataset) -> Iterator[InstanceRecord]:
        for instance in series.instances.values():
            if _matches_all(identifier, instance.attrs, INSTANCE_KEYS):
                yield instance

    # -- C-MOVE / C-GET ----------------------------------------------------------------
    def instances_for(self, identifier: Dataset) -> list[InstanceRecord]:
        """The instances a retrieve identifier selects (PS3.4 C.4.2.2.1)."""
        level = str(identifier.get("QueryRetrieveLevel", "")).upper()
        found = []
        for study in self.studies.values():
            if level == "PATIENT":
                if not _matches_all(identifier, study.attrs, ("PatientID",)):
                    continue
            elif not _matches_all(identifier, study.attrs, ("StudyInstanceUID",)):
                continue
            for series in study.series.values():
                if level in ("SERIES", "IMAGE") and not _matches_all(
                    identifier, series.attrs, ("SeriesInstanceUID",)
                ):
                    continue
                for instance in series.instances.values():
                    if level == "IMAGE" and not _matches_all(
                        identifier, instance.attrs, ("SOPInstanceUID",)
                    ):
                        continue
                    found.append(instance)
        return found


def _study_counts(study: StudyRecord) -> dict[str, Any]:
    return {
        "ModalitiesInStudy": "\\".join(study.modalities),
        "NumberOfStudyRelatedSeries": len(study.series),
        "NumberOfStudyRelatedInstances": study.number_of_instances,
    }


def _response(
    identifier: Dataset, keys: list[str], values: Mapping[str, Any], computed: Mapping[str, Any]
) -> Dataset:
    """The requested keys with this record's values (PS3.4 C.4.1.2.2: return keys)."""
    ds = Dataset()
    for keyword in keys:
        if keyword == "QueryRetrieveLevel":
            ds.QueryRetrieveLevel = identifier.QueryRetrieveLevel
        elif keyword == "SpecificCharacterSet":
            ds.SpecificCharacterSet = "ISO_IR 100"
        elif keyword in computed:
            setattr(ds, keyword, computed[keyword])
        elif keyword in values:
            setattr(ds, keyword, values[keyword])
        else:
            setattr(ds, keyword, None)  # a return key we do not hold: zero length
    return ds


def _wildcard(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    flags = re.DOTALL | (re.IGNORECASE if case_insensitive else 0)
    return re.compile(f"^{regex}$", flags)


def _date_matches(query: str, value: str) -> bool:
    if "-" in query:
        low, _, high = query.partition("-")
        return (not low or value >= low) and (not high or value <= high)
    return value == query


def matches(keyword: str, query: Any, value: Any) -> bool:
    """PS3.4 C.2.2.2 matching of one key (an empty query matches everything)."""
    wanted = str(query).strip() if query is not None else ""
    if wanted in ("", "*"):
        return True
    held = str(value).strip() if value is not None else ""
    if keyword in _UID_KEYS:
        return held in wanted.split("\\")
    if keyword in _DATE_KEYS:
        return _date_matches(wanted.replace(" ", ""), held)
    if "*" in wanted or "?" in wanted:
        return bool(_wildcard(wanted, keyword in _CASE_INSENSITIVE).match(held))
    if keyword in _CASE_INSENSITIVE:
        return wanted.casefold() == held.casefold()
    return wanted == held


def _matches_all(identifier: Dataset, attrs: Mapping[str, Any], keys: tuple[str, ...]) -> bool:
    for keyword in keys:
        if keyword in identifier and not matches(
            keyword, _value(identifier, keyword), attrs.get(keyword)
        ):
            return False
    return True


def _load(instance: InstanceRecord) -> Dataset:
    """The file to send, or, when it cannot be read, a stub with its identity only.

    pynetdicom cannot send the stub (it has no transfer syntax) and counts it as a
    failed sub-operation, listing its SOP Instance UID in the Failed SOP Instance UID
    List (0008,0058) of the final response: as a real PACS does with a broken file.
    """
    try:
        return pydicom.dcmread(instance.path)
    except Exception:
        logger.warning(
            "demo PACS: an archived file could not be read; it will be reported as failed"
        )
        stub = Dataset()
        stub.SOPClassUID = instance.attrs.get("SOPClassUID") or "1.2.840.10008.5.1.4.1.1.7"
        stub.SOPInstanceUID = instance.attrs["SOPInstanceUID"]
        return stub


def store_contexts_for(instances: list[InstanceRecord]) -> list[PresentationContext]:
    """Contexts for the C-STORE association of a C-MOVE: one per (SOP class, syntax)
    that the files have, each also offering explicit/implicit little endian."""
    pairs = dict.fromkeys(
        (str(i.attrs.get("SOPClassUID", "")), i.transfer_syntax_uid) for i in instances
    )
    pairs.pop(("", ""), None)
    if len(pairs) > MAX_REQUESTED_CONTEXTS:
        classes = dict.fromkeys(cls for cls, _ in pairs)
        return [build_context(c) for c in list(classes)[:MAX_REQUESTED_CONTEXTS]]
    contexts = []
    for sop_class, ts in pairs:
        fallback = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
        syntaxes = (
            [ts] + [s for s in fallback if s != ts] if UID(ts).is_compressed is False else [ts]
        )
        contexts.append(build_context(sop_class, syntaxes))
    return contexts


# -- handlers (plain functions bound to events) ----------------------------------------
def handle_find(event: Event, archive: DemoArchive) -> Iterator[tuple[int, Dataset | None]]:
    try:
        identifier = event.identifier
    except Exception:
        yield IDENTIFIER_DOES_NOT_MATCH, None
        return
    if "QueryRetrieveLevel" not in identifier:
        yield IDENTIFIER_DOES_NOT_MATCH, None
        return
    for response in archive.find(identifier):
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, response
    yield SUCCESS, None


def handle_move(
    event: Event, archive: DemoArchive, destinations: Mapping[str, tuple[str, int]]
) -> Iterator[Any]:
    destination = str(event.move_destination or "").strip()
    address = {k.strip(): v for k, v in destinations.items()}.get(destination)
    if address is None:
        yield None, None  # pynetdicom answers 0xA801 Move Destination Unknown
        return
    instances = archive.instances_for(event.identifier)
    yield (
        address[0],
        address[1],
        {
            "contexts": store_contexts_for(instances),
            "evt_handlers": [(evt.EVT_CONN_OPEN, tune_connection)],
        },
    )
    yield len(instances)
    for instance in instances:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, _load(instance)


def handle_get(event: Event, archive: DemoArchive) -> Iterator[Any]:
    instances = archive.instances_for(event.identifier)
    yield len(instances)
    for instance in instances:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, _load(instance)


def demo_handlers(archive: DemoArchive, destinations: Mapping[str, tuple[str, int]]) -> list[Any]:
    """The demo PACS's event handlers (a list of ``(event, handler, args)``)."""
    return [
        (evt.EVT_C_FIND, handle_find, [archive]),
        (evt.EVT_C_MOVE, handle_move, [archive, destinations]),
        (evt.EVT_C_GET, handle_get, [archive]),
        (evt.EVT_CONN_OPEN, tune_connection, []),
    ]


def build_demo_ae(ae_title: str = "DEMOPACS", *, require_called_aet: bool = False) -> AE:
    """C-ECHO, Study Root + Patient Root C-FIND/C-MOVE/C-GET SCP.

    For C-GET the storage SOP classes are supported with the SCP role offered to the
    requestor (PS3.7 D.3.3.4), in the transfer syntaxes our own SCU proposes (every
    association copies the supported contexts: all of pynetdicom's syntaxes for all
    storage classes would cost 35 ms per association).
    """
    ae = AE(ae_title=ae_title)
    ae.maximum_pdu_size = MAX_PDU
    ae.require_called_aet = require_called_aet
    ae.add_supported_context(VERIFICATION)
    for model in (
        STUDY_ROOT_FIND,
        STUDY_ROOT_MOVE,
        STUDY_ROOT_GET,
        PATIENT_ROOT_FIND,
        PATIENT_ROOT_MOVE,
        PATIENT_ROOT_GET,
    ):
        ae.add_supported_context(model)
    for uid in STORAGE_SOP_CLASSES:
        ae.add_supported_context(uid, list(TRANSFER_SYNTAXES), scp_role=True, scu_role=False)
    return ae


def serve_demo_pacs(
    folder: Path,
    *,
    ae_title: str,
    host: str,
    port: int,
    destinations: Mapping[str, tuple[str, int]],
    block: bool = True,
    require_called_aet: bool = False,
) -> ThreadedAssociationServer | None:
    """Index ``folder`` and serve it; with ``block=False`` return the server."""
    tune_pynetdicom()
    archive = DemoArchive(folder)
    ae = build_demo_ae(ae_title, require_called_aet=require_called_aet)
    return ae.start_server(
        (host, port), block=block, evt_handlers=demo_handlers(archive, dict(destinations))
    )


__all__ = [
    "DemoArchive",
    "build_demo_ae",
    "demo_handlers",
    "handle_find",
    "handle_get",
    "handle_move",
    "matches",
    "serve_demo_pacs",
]
