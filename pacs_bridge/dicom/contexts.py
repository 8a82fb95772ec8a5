"""Presentation contexts: which SOP classes and transfer syntaxes we propose or accept.

- An association requestor may propose at most 128 presentation contexts (PS3.8 9.3.2.2:
  the context ID is an odd number 1-255).
- An acceptor picks ONE transfer syntax per proposed context (PS3.8 9.3.3.2). For C-GET
  that matters: the PACS sends each file over a context of its SOP class, in the syntax
  accepted for that context, and a PACS that cannot transcode (Orthanc and J2K) fails
  the sub-operation. So for C-GET we propose one context per (SOP class, transfer
  syntax) pair, each with the SCP/SCU role selection item that lets the PACS send
  C-STORE requests to us on the same association (PS3.4 C.4.3, PS3.7 D.3.3.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pydicom.uid import (
    JPEG2000,
    UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DeflatedExplicitVRLittleEndian,
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalXRayImageStorageForPresentation,
    EnhancedCTImageStorage,
    EnhancedMRImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    MRImageStorage,
    NuclearMedicineImageStorage,
    PositronEmissionTomographyImageStorage,
    RLELossless,
    SecondaryCaptureImageStorage,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    XRayAngiographicImageStorage,
)
from pynetdicom import build_context, build_role
from pynetdicom.pdu_primitives import SCP_SCU_RoleSelectionNegotiation
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import _STORAGE_CLASSES

# PS3.4 A.4 and C.6 (pynetdicom makes these names at run time: no static types)
VERIFICATION = UID("1.2.840.10008.1.1")
PATIENT_ROOT_FIND = UID("1.2.840.10008.5.1.4.1.2.1.1")
PATIENT_ROOT_MOVE = UID("1.2.840.10008.5.1.4.1.2.1.2")
PATIENT_ROOT_GET = UID("1.2.840.10008.5.1.4.1.2.1.3")
STUDY_ROOT_FIND = UID("1.2.840.10008.5.1.4.1.2.2.1")
STUDY_ROOT_MOVE = UID("1.2.840.10008.5.1.4.1.2.2.2")
STUDY_ROOT_GET = UID("1.2.840.10008.5.1.4.1.2.2.3")

MAX_REQUESTED_CONTEXTS = 128

# The transfer syntaxes we accept and propose, most wanted first (an acceptor picks the
# first of its own list that the requestor proposes, PS3.8 9.3.3.2): explicit VR little
# endian (keeps the VR of private attributes), implicit VR little endian (the default
# every peer supports, PS3.5 10.1), then the compressed ones our anonymizer can decode,
# the most common in archives first. With many SOP classes a C-GET proposes only the
# first few of them per class.
TRANSFER_SYNTAXES: tuple[UID, ...] = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEG2000Lossless,
    JPEG2000,
    JPEGLSLossless,
    RLELossless,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLSNearLossless,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
)

# Every storage SOP class pynetdicom knows (PS3.4 B.5), including retired ones a PACS
# may still hold. Private or newer classes are added per association by the listener.
STORAGE_SOP_CLASSES: tuple[UID, ...] = tuple(UID(uid) for uid in _STORAGE_CLASSES.values())

# What a teaching file mostly pulls, for a C-GET when the series' SOP classes are unknown.
COMMON_IMAGE_SOP_CLASSES: tuple[UID, ...] = (
    CTImageStorage,
    MRImageStorage,
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    DigitalMammographyXRayImageStorageForPresentation,
    UltrasoundImageStorage,
    UltrasoundMultiFrameImageStorage,
    SecondaryCaptureImageStorage,
    EnhancedCTImageStorage,
    EnhancedMRImageStorage,
    XRayAngiographicImageStorage,
    PositronEmissionTomographyImageStorage,
    NuclearMedicineImageStorage,
)


def storage_contexts(
    sop_classes: Iterable[str] = STORAGE_SOP_CLASSES,
    transfer_syntaxes: Sequence[str] = TRANSFER_SYNTAXES,
) -> list[PresentationContext]:
    """Acceptor contexts: each SOP class with every transfer syntax we take."""
    return [build_context(uid, list(transfer_syntaxes)) for uid in dict.fromkeys(sop_classes)]


def get_contexts(
    sop_classes: Sequence[str] | None,
    query_model: str = STUDY_ROOT_GET,
) -> tuple[list[PresentationContext], list[SCP_SCU_RoleSelectionNegotiation]]:
    """Requestor contexts and role items for a C-GET with a storage SCP role.

    One context for the query/retrieve model, then one per (SOP class, transfer syntax),
    all within the 128-context limit: with many SOP classes each gets only the first
    (most wanted) transfer syntaxes. ``sop_classes`` None means the common image classes.
    """
    classes = list(dict.fromkeys(UID(uid) for uid in (sop_classes or COMMON_IMAGE_SOP_CLASSES)))
    room = MAX_REQUESTED_CONTEXTS - 1
    if len(classes) > room:
        classes = classes[:room]
    per_class = min(len(TRANSFER_SYNTAXES), room // len(classes))
    contexts = [build_context(query_model)]
    for uid in classes:
        contexts.extend(build_context(uid, ts) for ts in TRANSFER_SYNTAXES[:per_class])
    roles = [build_role(uid, scp_role=True) for uid in classes]
    return contexts, roles
