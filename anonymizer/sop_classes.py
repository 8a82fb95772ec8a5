"""Which SOP classes a teaching case may publish, as data (PS3.4 Annex B storage classes).

The header profile (PS3.15 Annex E) cleans attributes; it cannot clean a report's text,
a PDF or the graphics of a presentation state. So only image storage SOP classes are
publishable, and everything else is refused with a plain reason.

:data:`SOP_CLASSES` is built from every storage SOP class in pydicom's UID dictionary
(PS3.6 Annex A), so none is forgotten:

1. :data:`PUBLISHABLE` lists the image classes we publish (by UID); those in
   :data:`NEEDS_REVIEW` (visible light photographs) are publishable but always flagged
   for a human look: a photograph may show a face or a name band.
2. Every other storage class gets the reason of the first rule in :data:`REFUSED_BY_NAME`
   whose words appear in its name (Structured Reports, Presentation States, encapsulated
   documents, waveforms, RT objects...), or :data:`NOT_A_TEACHING_IMAGE`.
3. :data:`OVERRIDES` fixes classes whose name would mislead the rules (DICOMDIR).

A SOP class that is not in the table (a private class, a class newer than pydicom's
dictionary, or a mistyped UID) is not publishable: "unknown SOP class <uid>".
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom import uid
from pydicom._uid_dict import UID_dictionary

__all__ = [
    "NEEDS_REVIEW",
    "OVERRIDES",
    "PUBLISHABLE",
    "REFUSED_BY_NAME",
    "SOP_CLASSES",
    "SopClassPolicy",
    "needs_review",
    "publishable",
]


@dataclass(frozen=True)
class SopClassPolicy:
    """Whether instances of one SOP class may be published, and why."""

    name: str
    publishable: bool
    reason: str
    needs_review: bool = False


PUBLISHED_IMAGE = "image storage SOP class"
PHOTO_REVIEW = (
    "visible light image: publishable, but always reviewed because photographs "
    "may show faces, tattoos or name bands"
)
NOT_A_TEACHING_IMAGE = "not an image class that teaching cases publish"

#: Image storage classes we publish (retired US and NM classes are still found in
#: archives and carry the same modules).
PUBLISHABLE: frozenset[str] = frozenset(
    {
        uid.ComputedRadiographyImageStorage,
        uid.DigitalXRayImageStorageForPresentation,
        uid.DigitalXRayImageStorageForProcessing,
        uid.DigitalMammographyXRayImageStorageForPresentation,
        uid.DigitalMammographyXRayImageStorageForProcessing,
        uid.DigitalIntraOralXRayImageStorageForPresentation,
        uid.DigitalIntraOralXRayImageStorageForProcessing,
        uid.CTImageStorage,
        uid.EnhancedCTImageStorage,
        uid.LegacyConvertedEnhancedCTImageStorage,
        uid.UltrasoundImageStorage,
        "1.2.840.10008.5.1.4.1.1.6",  # Ultrasound Image Storage (Retired)
        uid.UltrasoundMultiFrameImageStorage,
        "1.2.840.10008.5.1.4.1.1.3",  # Ultrasound Multi-frame Image Storage (Retired)
        uid.EnhancedUSVolumeStorage,
        uid.MRImageStorage,
        uid.EnhancedMRImageStorage,
        uid.EnhancedMRColorImageStorage,
        uid.LegacyConvertedEnhancedMRImageStorage,
        uid.XRayAngiographicImageStorage,
        uid.EnhancedXAImageStorage,
        uid.XRayRadiofluoroscopicImageStorage,
        uid.EnhancedXRFImageStorage,
        uid.XRay3DAngiographicImageStorage,
        uid.XRay3DCraniofacialImageStorage,
        uid.BreastTomosynthesisImageStorage,
        uid.BreastProjectionXRayImageStorageForPresentation,
        uid.BreastProjectionXRayImageStorageForProcessing,
        uid.NuclearMedicineImageStorage,
        "1.2.840.10008.5.1.4.1.1.5",  # Nuclear Medicine Image Storage (Retired)
        uid.PositronEmissionTomographyImageStorage,
        uid.EnhancedPETImageStorage,
        uid.LegacyConvertedEnhancedPETImageStorage,
        uid.RTImageStorage,
        uid.ParametricMapStorage,
        uid.SecondaryCaptureImageStorage,
        uid.MultiFrameSingleBitSecondaryCaptureImageStorage,
        uid.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
        uid.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
        uid.MultiFrameTrueColorSecondaryCaptureImageStorage,
        uid.VLEndoscopicImageStorage,
        uid.VideoEndoscopicImageStorage,
        uid.VLMicroscopicImageStorage,
        uid.VideoMicroscopicImageStorage,
        uid.VLSlideCoordinatesMicroscopicImageStorage,
        uid.VLPhotographicImageStorage,
        uid.VideoPhotographicImageStorage,
        uid.OphthalmicPhotography8BitImageStorage,
        uid.OphthalmicPhotography16BitImageStorage,
        uid.DermoscopicPhotographyImageStorage,
    }
)

#: Publishable, but a human always reviews them first.
NEEDS_REVIEW: frozenset[str] = frozenset(
    {
        uid.VLEndoscopicImageStorage,
        uid.VideoEndoscopicImageStorage,
        uid.VLMicroscopicImageStorage,
        uid.VideoMicroscopicImageStorage,
        uid.VLSlideCoordinatesMicroscopicImageStorage,
        uid.VLPhotographicImageStorage,
        uid.VideoPhotographicImageStorage,
        uid.OphthalmicPhotography8BitImageStorage,
        uid.OphthalmicPhotography16BitImageStorage,
        uid.DermoscopicPhotographyImageStorage,
    }
)

_SR = "Structured Reports carry free text that can name the patient"
_DERIVED = "derived objects (segmentations, registrations...) are not published on their own"
_DOCUMENT = "Encapsulated documents carry text that the header profile cannot clean"

#: (words in the SOP class name, reason) for classes not published; first match wins.
REFUSED_BY_NAME: tuple[tuple[str, str], ...] = (
    ("Media Storage Directory", "a DICOMDIR is a directory of files and lists patient names"),
    ("SR Storage", _SR),
    ("Key Object Selection", _SR),
    ("Procedure Log", _SR),
    ("Report Storage", _SR),
    (
        "Presentation State",
        "Presentation States carry annotations and text that can name the patient",
    ),
    ("Encapsulated", _DOCUMENT),
    ("Waveform", "Waveforms (ECG, audio...) are not images and may carry annotations"),
    ("Raw Data", "Raw Data holds vendor data that cannot be inspected"),
    ("Spectroscopy", "Spectroscopy data is not an image"),
    ("Hanging Protocol", "Hanging Protocols are display layouts, not patient images"),
    ("Color Palette", "Color Palettes are display tables, not patient images"),
    ("Protocol", "Procedure protocols are not patient images"),
    ("Implant", "Implant templates are not patient images"),
    (
        "RT ",
        "RT objects (plans, structures, doses, records) are not teaching images and "
        "carry free text",
    ),
    (
        "Radiation",
        "RT objects (plans, structures, doses, records) are not teaching images "
        "and carry free text",
    ),
    (
        "Structured Display",
        "Structured Displays carry annotations and text that can name the patient",
    ),
    ("Annotations", "Annotation objects carry free text that can name the patient"),
    ("Segmentation", _DERIVED),
    ("Registration", _DERIVED),
    ("Fiducials", _DERIVED),
    ("Tractography", _DERIVED),
    ("Real World Value Mapping", _DERIVED),
    ("Measurements", "measurement objects are not images"),
    ("DICOS", "security screening objects are not medical images"),
    ("Eddy Current", "industrial inspection objects are not medical images"),
    ("Standalone", "retired standalone objects (overlays, curves, LUTs) are not images"),
    ("Trial", "retired trial SOP classes are not published"),
    ("Hardcopy", "retired print objects are not published"),
    ("Stored Print", "retired print objects are not published"),
    ("Storage Commitment", "not a storage SOP class for instances"),
)

#: Explicit decisions that win over everything above.
OVERRIDES: dict[str, SopClassPolicy] = {
    uid.MediaStorageDirectoryStorage: SopClassPolicy(
        "Media Storage Directory Storage",
        False,
        "a DICOMDIR is a directory of files and lists patient names",
    ),
}


def _policy(sop_class: str, name: str) -> SopClassPolicy:
    if sop_class in PUBLISHABLE:
        review = sop_class in NEEDS_REVIEW
        return SopClassPolicy(name, True, PHOTO_REVIEW if review else PUBLISHED_IMAGE, review)
    for words, reason in REFUSED_BY_NAME:
        if words in name:
            return SopClassPolicy(name, False, reason)
    return SopClassPolicy(name, False, NOT_A_TEACHING_IMAGE)


def _build() -> dict[str, SopClassPolicy]:
    table = {
        sop_class: _policy(sop_class, name)
        for sop_class, (name, kind, _info, _retired, _keyword) in UID_dictionary.items()
        if kind == "SOP Class" and "Storage" in name
    }
    table.update(OVERRIDES)
    return table


#: SOP Class UID -> policy, for every storage SOP class pydicom knows.
SOP_CLASSES: dict[str, SopClassPolicy] = _build()


def publishable(sop_class_uid: str) -> tuple[bool, str]:
    """(may instances of this SOP class be published, the reason in plain words)."""
    key = str(sop_class_uid).strip().rstrip("\x00")
    policy = SOP_CLASSES.get(key)
    if policy is None:
        return False, f"unknown SOP class {key}"
    return policy.publishable, policy.reason


def needs_review(sop_class_uid: str) -> bool:
    """True for publishable classes a human must always review (photographs)."""
    policy = SOP_CLASSES.get(str(sop_class_uid).strip().rstrip("\x00"))
    return policy is not None and policy.needs_review
