"""The header engine's rule tables, as data (the code that applies them is in :mod:`.engine`).

Table E.1-1 of DICOM PS3.15 Annex E (:mod:`anonymizer.profile`) decides what happens to
every attribute it lists. This module holds what the table leaves to the de-identifier:

- :data:`ALWAYS_REMOVED_TAGS` and :func:`is_always_removed`: attributes removed whatever
  the table or an option says (they hold copies of other attributes, signatures over the
  original values, icons, overlays, curves or padding that may carry identifiers).
- :data:`PSEUDONYM_TAGS`: Patient's Name and Patient ID carry the case pseudonym.
- :data:`STEP_FOR_ACTION`: what each Table E.1-1 action means for each class of VR.
- :data:`NOT_IN_TABLE_STEP`: the safe default for attributes in no row of Table E.1-1.
  PS3.15 E.1.1 leaves "attributes not listed in Table E.1-1" to the de-identifier, and
  requires that it removes or cleans any that may identify. Our rule, by VR:

  * numbers (US SS UL SL FL FD IS DS AT UV SV) and code strings (CS): kept;
  * dates and date-times (DA DT): shifted by the patient's offset, wherever they are;
  * times (TM): kept (a time of day does not identify once the date is shifted);
  * UIDs (UI): kept if the UID is in the DICOM registry (SOP classes, transfer
    syntaxes, coding schemes, well-known frames of reference...), otherwise remapped
    like any instance UID;
  * sequences (SQ): kept, and every item is de-identified by the same rules;
  * text (AE AS LO SH LT ST UT UC UR PN) and binary or unknown VRs (OB OW OF OD OL
    OV UN): removed, unless the tag is in :data:`FIRST_PASS_KEEP_TAGS` (what an image
    needs to be displayed and taught from). Kept text is still cleaned of the
    identifiers found in the same data set.
- :data:`DUMMY_BY_VR`: the dummy value of action D for each VR.
- :data:`IDENTIFIER_TAGS`: attributes whose values are collected before cleaning, so that
  Clean Descriptors (PS3.15 E.3.5) can remove them from free text.
"""

from __future__ import annotations

from enum import Enum

from pydicom.datadict import tag_for_keyword

from anonymizer.profile import SECOND_PASS_ALLOWLIST, Action

__all__ = [
    "ALWAYS_REMOVED_GROUPS",
    "ALWAYS_REMOVED_TAGS",
    "BINARY_VRS",
    "DUMMY_BY_VR",
    "FIRST_PASS_KEEP_TAGS",
    "IDENTIFIER_TAGS",
    "NARRATIVE_VRS",
    "NOT_IN_TABLE_STEP",
    "NUMERIC_VRS",
    "PSEUDONYM_TAGS",
    "SECOND_PASS_ALWAYS_KEPT",
    "STEP_FOR_ACTION",
    "TEXT_VRS",
    "Step",
    "is_always_removed",
    "step_for_action",
    "tags",
    "vr_class",
]


def tags(*keywords: str) -> frozenset[int]:
    """Tags for PS3.6 keywords; a misspelt keyword fails at import."""
    found = set()
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is None:
            raise ValueError(f"not a DICOM keyword: {keyword}")
        found.add(tag)
    return frozenset(found)


class Step(Enum):
    """What the engine does to one data element (the meaning of an action for a VR)."""

    KEEP = "keep"  # leave the element as it is (not even decoded)
    REMOVE = "remove"
    ZERO = "zero"  # zero-length value; an empty sequence
    DUMMY = "dummy"  # DUMMY_BY_VR; a sequence of one empty item
    CLEAN_TEXT = "clean_text"  # Clean Descriptors (text.py), after the walk
    KEEP_TEXT = "keep_text"  # kept, but the data set's own identifiers are removed
    SHIFT_DATE = "shift_date"  # DA: shifted by the patient's offset
    SHIFT_DATETIME = "shift_datetime"  # DT: date part shifted, time and offset kept
    UID = "uid"  # remapped with Keys.uid unless a registry UID
    RECURSE = "recurse"  # a sequence: keep it, de-identify each item
    PSEUDONYM = "pseudonym"  # Patient's Name, Patient ID
    AGE = "age"  # AS: kept, ages over 89 become 090Y
    PRIVATE = "private"  # a private element the profile may keep (safe private)


# -- VR classes ------------------------------------------------------------------------

NUMERIC_VRS: frozenset[str] = frozenset(
    {"US", "SS", "UL", "SL", "FL", "FD", "IS", "DS", "AT", "UV", "SV"}
)
TEXT_VRS: frozenset[str] = frozenset({"AE", "AS", "LO", "SH", "LT", "ST", "UT", "UC", "UR", "PN"})
BINARY_VRS: frozenset[str] = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})
#: Free text that is narrative rather than a short label: if cleaning finds anything
#: identifying in it, the whole value goes (see text.clean_descriptor, narrative=True).
NARRATIVE_VRS: frozenset[str] = frozenset({"LT", "ST", "UT"})


def vr_class(vr: str) -> str:
    """The class a VR is handled as: its own name for DA DT TM UI SQ CS AS, else
    "numeric", "text" or "binary". Ambiguous dictionary VRs ("US or SS", "OB or OW",
    "US or SS or OW") count as their first member; anything unknown as binary."""
    vr = vr.split(" or ", 1)[0]
    if vr in {"DA", "DT", "TM", "UI", "SQ", "CS", "AS"}:
        return vr
    if vr in NUMERIC_VRS:
        return "numeric"
    if vr in TEXT_VRS:
        return "text"
    return "binary"


# -- Table E.1-1 actions, per VR class -------------------------------------------------

_DEFAULT = "*"

#: Action -> VR class -> step; "*" is the default for classes not listed.
#: PS3.15 E.1.1 (Table E.1-1a) defines the actions; the VR decides how each is done.
STEP_FOR_ACTION: dict[Action, dict[str, Step]] = {
    Action.REMOVE: {_DEFAULT: Step.REMOVE},
    Action.ZERO: {_DEFAULT: Step.ZERO},
    # A dummy date of a real event is its shifted date (or 19000101 when empty), a dummy
    # UID the remapped one: the engine's DUMMY step does both (see engine._dummy).
    Action.DUMMY: {_DEFAULT: Step.DUMMY},
    # Kept text still loses the data set's own identifiers (a name typed into Ethnic
    # Group); the engine leaves identifying attributes that an option keeps alone.
    Action.KEEP: {"SQ": Step.RECURSE, "AS": Step.AGE, "text": Step.KEEP_TEXT, _DEFAULT: Step.KEEP},
    Action.CLEAN: {
        "DA": Step.SHIFT_DATE,
        "DT": Step.SHIFT_DATETIME,
        "TM": Step.KEEP,
        "SQ": Step.RECURSE,
        "UI": Step.UID,
        "AS": Step.AGE,
        "CS": Step.KEEP,
        "numeric": Step.KEEP,
        "text": Step.CLEAN_TEXT,
        "binary": Step.REMOVE,  # MakerNote, DeviceSettingDescription...: cannot be cleaned
    },
    Action.UID: {"UI": Step.UID, "SQ": Step.RECURSE, _DEFAULT: Step.REMOVE},
}


def step_for_action(action: Action, vrc: str) -> Step:
    """The step for a Table E.1-1 action on an element of VR class ``vrc``."""
    by_vr = STEP_FOR_ACTION[action]
    return by_vr.get(vrc, by_vr.get(_DEFAULT, Step.REMOVE))


# -- Attributes not in Table E.1-1 (PS3.15 E.1.1) ----------------------------------------

#: VR class -> step for attributes in no row of Table E.1-1 (see module docstring).
NOT_IN_TABLE_STEP: dict[str, Step] = {
    "numeric": Step.KEEP,
    "CS": Step.KEEP,
    "DA": Step.SHIFT_DATE,
    "DT": Step.SHIFT_DATETIME,
    "TM": Step.KEEP,
    "UI": Step.UID,  # registry UIDs are kept by the UID step itself
    "SQ": Step.RECURSE,
    "AS": Step.REMOVE,
    "text": Step.REMOVE,
    "binary": Step.REMOVE,
}

#: Text and binary attributes outside Table E.1-1 that the first pass keeps: the image
#: and its display (pixel data, palettes, LUTs, ICC profile, offset tables), the codes
#: of code sequences, and the scanner's make and model (device type, not identity; they
#: also tell the pixel checks where a vendor burns in text). Joined with the second-pass
#: allowlist so nothing the second pass would keep is lost in the first.
FIRST_PASS_KEEP_TAGS: frozenset[int] = (
    tags(
        "PixelData",
        "FloatPixelData",
        "DoubleFloatPixelData",
        "ExtendedOffsetTable",
        "ExtendedOffsetTableLengths",
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
        "AlphaPaletteColorLookupTableData",
        "SegmentedRedPaletteColorLookupTableData",
        "SegmentedGreenPaletteColorLookupTableData",
        "SegmentedBluePaletteColorLookupTableData",
        "SegmentedAlphaPaletteColorLookupTableData",
        "LUTData",
        "LUTExplanation",
        "WindowCenterWidthExplanation",
        "RescaleType",
        "ModalityLUTType",
        "ICCProfile",
        "CodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
        "LongCodeValue",
        "URNCodeValue",
        "ConvolutionKernel",
        "Manufacturer",
        "ManufacturerModelName",
        "StackID",
    )
    | SECOND_PASS_ALLOWLIST
)

# -- Always removed ----------------------------------------------------------------------

#: Removed at every depth whatever Table E.1-1 or an option says: icons (a thumbnail of
#: the unredacted image), signatures and MACs over the original values, encrypted or
#: original copies of attributes, other patient IDs, the request (accession, requesting
#: physician, reasons), references to the patient and their photograph, trailing
#: padding (free bytes after the data set).
ALWAYS_REMOVED_TAGS: frozenset[int] = tags(
    "IconImageSequence",
    "DigitalSignaturesSequence",
    "MACParametersSequence",
    "EncryptedAttributesSequence",
    "OriginalAttributesSequence",
    "ModifiedAttributesSequence",
    "OtherPatientIDsSequence",
    "RequestAttributesSequence",
    "ReferencedPatientSequence",
    "ReferencedPatientPhotoSequence",
    "DataSetTrailingPadding",
)

#: (mask, value) pairs of groups removed whole: curves (50xx, PS3.3 C.10.2, retired) and
#: overlays (60xx, PS3.3 C.9: every element, since overlay data, labels, descriptions and
#: activation layers can all carry burned-in or typed identifiers); command (0000) and
#: file meta (0002) elements found inside a data set, which do not belong there.
ALWAYS_REMOVED_GROUPS: tuple[tuple[int, int], ...] = (
    (0xFF010000, 0x50000000),  # even groups 5000-50FE
    (0xFF010000, 0x60000000),  # even groups 6000-60FE
    (0xFFFF0000, 0x00000000),
    (0xFFFF0000, 0x00020000),
)


def is_always_removed(tag: int) -> bool:
    """True for a tag that :data:`ALWAYS_REMOVED_TAGS` or :data:`ALWAYS_REMOVED_GROUPS` names."""
    if tag in ALWAYS_REMOVED_TAGS:
        return True
    return any(tag & mask == value for mask, value in ALWAYS_REMOVED_GROUPS)


# -- Pseudonym ---------------------------------------------------------------------------

#: Set to the case pseudonym at every depth, whatever the table says.
PSEUDONYM_TAGS: frozenset[int] = tags("PatientName", "PatientID")

# -- Dummy values (action D) -------------------------------------------------------------

#: A non-zero-length value valid for each VR (PS3.15 E.1.1: "replace with a non-zero
#: length value that may be a dummy value and consistent with the VR"). UI, DA, DT and
#: SQ are handled by the engine (a remapped UID, a shifted date, one empty item).
DUMMY_BY_VR: dict[str, str | int | float | bytes] = {
    "AE": "ANON",
    "AS": "000Y",
    "CS": "ANON",
    "DA": "19000101",
    "DT": "19000101000000",
    "LO": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "PN": "ANONYMOUS",
    "SH": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "TM": "000000",
    "UC": "ANONYMIZED",
    "UR": "ANONYMIZED",
    "UT": "ANONYMIZED",
    "DS": "0",
    "IS": "0",
    "FL": 0.0,
    "FD": 0.0,
    "SL": 0,
    "SS": 0,
    "SV": 0,
    "UL": 0,
    "US": 0,
    "UV": 0,
    "AT": 0,
    "OB": b"\x00\x00",
    "OW": b"\x00\x00",
    "OF": b"\x00\x00\x00\x00",
    "OL": b"\x00\x00\x00\x00",
    "OD": b"\x00" * 8,
    "OV": b"\x00" * 8,
    "UN": b"\x00\x00",
}

# -- Identifiers collected for Clean Descriptors (PS3.15 E.3.5) ---------------------------

#: Values of these attributes, wherever they occur in the data set (also inside
#: sequences that are then removed), are removed from every cleaned text.
IDENTIFIER_TAGS: frozenset[int] = tags(
    # the patient
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthDate",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "MilitaryRank",
    "MedicalRecordLocator",
    "ResponsiblePerson",
    "ResponsibleOrganization",
    # the visit and the request
    "AccessionNumber",
    "StudyID",
    "AdmissionID",
    "ServiceEpisodeID",
    "RequestedProcedureID",
    "ScheduledProcedureStepID",
    "PerformedProcedureStepID",
    "PlacerOrderNumberImagingServiceRequest",
    "FillerOrderNumberImagingServiceRequest",
    # people
    "ReferringPhysicianName",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "ScheduledPerformingPhysicianName",
    "OperatorsName",
    "PersonName",
    "PersonAddress",
    "PersonTelephoneNumbers",
    "ContentCreatorName",
    "VerifyingObserverName",
    "ReviewerName",
    # also identifying to the verifier (anonymizer.verify.IDENTIFYING_KEYWORDS): the engine
    # must clean at least what the verifier checks, or a case fails only at publish
    "PatientBirthTime",
    "PatientTelecomInformation",
    "BranchOfService",
    "CountryOfResidence",
    "RegionOfResidence",
    "CurrentPatientLocation",
    "PatientInstitutionResidence",
    "IssuerOfAdmissionID",
    "IssuerOfServiceEpisodeID",
    "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID",
    "ConsultingPhysicianName",
    "PersonTelecomInformation",
    "EvaluatorName",
    "HumanPerformerName",
    "OrderEnteredBy",
    "OrderCallbackPhoneNumber",
    "OrderCallbackTelecomInformation",
    "InterpretationRecorder",
    "InterpretationTranscriber",
    "InterpretationAuthor",
    "PhysicianApprovingInterpretation",
    "DistributionName",
    "DistributionAddress",
    "HumanPerformerOrganization",
    "OrderEntererLocation",
    "RequestingService",
    "ClinicalTrialSponsorName",
    "ClinicalTrialSiteName",
    "ClinicalTrialSiteID",
    "ClinicalTrialCoordinatingCenterName",
    "ScheduledStationName",
    "PerformedStationName",
    "PerformedLocation",
    "ScheduledProcedureStepLocation",
    "DeviceID",
    "DeviceLabel",
    "GantryID",
    "PlateID",
    "CassetteID",
    "SecondaryCaptureDeviceID",
    "UniqueDeviceIdentifier",
    "ManufacturerDeviceIdentifier",
    "SourceApplicationEntityTitle",
    "SendingApplicationEntityTitle",
    "ReceivingApplicationEntityTitle",
    "StationAETitle",
    "RetrieveAETitle",
    "ScheduledStationAETitle",
    "PerformedStationAETitle",
    # the site and the device
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "DetectorID",
)

#: Kept by the second pass whatever its allowlist says: what the engine itself writes
#: after the walk, the character set the remaining text is encoded in, and the
#: burned-in annotation flag that the pixel checks and the verifier read.
SECOND_PASS_ALWAYS_KEPT: frozenset[int] = tags(
    "SpecificCharacterSet",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
    "DeidentificationMethodCodeSequence",
    "LongitudinalTemporalInformationModified",
    "BurnedInAnnotation",
)
