"""Failures of the DICOM network layer, each with a message a person understands.

The ``message`` of every error is shown on the job page as it is: plain words, the
peer's address and AE titles, never anything from a dataset (no PHI).

Status codes and their meanings: PS3.4 C.4.1.1.4 (C-FIND), C.4.2.1.5 (C-MOVE),
C.4.3.1.4 (C-GET), B.2.3 (C-STORE); association rejections: PS3.8 9.3.4.
"""

from __future__ import annotations

from typing import Any


class PacsError(Exception):
    """Base class: ``message`` is a sentence for the job page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class PacsUnreachable(PacsError):
    """No TCP connection: nothing listens, the host is unknown or a firewall drops us."""


class AssociationRejected(PacsError):
    """The PACS answered the A-ASSOCIATE-RQ with an A-ASSOCIATE-RJ (PS3.8 9.3.4)."""


class ServiceNotSupported(PacsError):
    """The association was accepted but none of the presentation contexts we need."""


class PacsTimeout(PacsError):
    """The PACS accepted the connection and then stopped answering (ACSE/DIMSE timeout)."""


class AssociationAborted(PacsError):
    """The PACS (or the network) dropped the association with an A-ABORT."""


class QueryFailed(PacsError):
    """A C-FIND ended with a failure status (PS3.4 C.4.1.1.4)."""


class MoveDestinationUnknown(PacsError):
    """C-MOVE status 0xA801: the PACS does not know our AE title as a destination."""


class RetrieveFailed(PacsError):
    """A C-MOVE or C-GET ended with a failure status and nothing was retrieved."""

    def __init__(self, message: str, status: int, result: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.result = result  # the RetrieveResult with the counts, when there was one


# PS3.4 C.4.1.1.4, C.4.2.1.5, C.4.3.1.4 and PS3.7 C (general statuses), in plain words.
_STATUS_MEANINGS: dict[int, str] = {
    0x0000: "success",
    0x0001: "success, with a warning",
    0x0107: "warning: some attributes were not supported",
    0x0110: "processing failure",
    0x0122: "the PACS does not support this kind of request (SOP class not supported)",
    0x0124: "the PACS does not allow this request (refused: not authorized)",
    0x0211: "the PACS does not recognise the request (unrecognized operation)",
    0xA700: "the PACS is out of resources",
    0xA701: "the PACS is out of resources: it could not count the matches",
    0xA702: "the PACS is out of resources: it could not send the files",
    0xA801: "the PACS does not know the move destination",
    0xA900: "the request did not match what the PACS expects (identifier does not match SOP class)",
    0xAA00: "none of the requested frames were found",
    0xAA01: "the PACS could not create the requested object",
    0xAA02: "the PACS could not extract the requested frames",
    0xAA03: "a time-based request was made for an object without time",
    0xAA04: "the request was invalid",
    0xB000: "some files could not be sent (sub-operations completed with failures or warnings)",
    0xFE00: "the operation was cancelled",
}


def status_meaning(status: int) -> str:
    """The PS3.4 meaning of a DIMSE status code, in plain words."""
    if status in _STATUS_MEANINGS:
        return _STATUS_MEANINGS[status]
    if 0xC000 <= status <= 0xCFFF:
        return "the PACS was unable to process the request"
    if status in (0xFF00, 0xFF01):
        return "pending"
    if 0xA000 <= status <= 0xAFFF:
        return "the PACS refused the request"
    if 0xB000 <= status <= 0xBFFF:
        return "warning"
    return "unknown status"


def status_text(status: int) -> str:
    """``0xA702 (the PACS is out of resources: it could not send the files)``."""
    return f"0x{status:04X} ({status_meaning(status)})"


def is_failure(status: int) -> bool:
    """Failure statuses of PS3.4 C.4: 0xA***, 0xC***, and the general 0x01** failures."""
    if status in (0x0000, 0x0001, 0x0107, 0xFE00, 0xFF00, 0xFF01):
        return False
    return not 0xB000 <= status <= 0xBFFF
