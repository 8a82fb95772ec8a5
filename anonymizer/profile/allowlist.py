"""The second-pass allowlist: the only attributes a published teaching case keeps.

The first pass applies :data:`~.profile.FIRST_PASS` (Table E.1-1 with options).
The second pass then keeps an attribute only if its tag is listed here, at every
depth: a sequence that is not listed goes with all its items, and inside a
listed sequence each item attribute must be listed too. Private attributes
(odd groups) and anything not listed are never allowed. File Meta Information
(group 0002) is rebuilt by the writer and is not part of this list.

Each group below says why a viewer or a teacher needs it. Tags are built from
PS3.6 keywords with pydicom's dictionary, so a misspelt keyword fails at import.
"""

from __future__ import annotations

from pydicom.datadict import tag_for_keyword

__all__ = [
    "SECOND_PASS_ALLOWLIST",
    "SECOND_PASS_ALLOWLIST_GROUPS",
    "SECOND_PASS_ALLOWLIST_KEYWORDS",
    "is_allowed",
]

SECOND_PASS_ALLOWLIST_GROUPS: dict[str, tuple[str, ...]] = {
    # SOP Common (PS3.3 C.12.1): what the instance is and how its text is encoded.
    "sop_common": (
        "SOPClassUID",
        "SOPInstanceUID",
        "SpecificCharacterSet",
    ),
    # Patient (PS3.3 C.7.1.1, C.7.2.2) after de-identification: name and ID
    # carry the pseudonym; age, sex, size and weight matter for interpretation;
    # the de-identification record says what was done.
    "patient": (
        "PatientName",
        "PatientID",
        "PatientSex",
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "PatientIdentityRemoved",
        "DeidentificationMethod",
        "DeidentificationMethodCodeSequence",
        "LongitudinalTemporalInformationModified",
    ),
    # Items of code sequences kept here (De-identification Method Code Sequence).
    "code_sequence_items": (
        "CodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
    ),
    # General Study / Series / Equipment-free identification (PS3.3 C.7.2.1,
    # C.7.3.1): new UIDs from the first pass, shifted dates and times, and the
    # descriptions a case is taught from. Study ID and accession number are
    # deliberately absent.
    "study_series": (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "StudyDate",
        "StudyTime",
        "SeriesDate",
        "SeriesTime",
        "AcquisitionDate",
        "AcquisitionTime",
        "AcquisitionDateTime",
        "ContentDate",
        "ContentTime",
        "SeriesNumber",
        "InstanceNumber",
        "AcquisitionNumber",
        "Modality",
        "BodyPartExamined",
        "StudyDescription",
        "SeriesDescription",
        "ImageType",
        "Laterality",
        "ImageLaterality",
        "ViewPosition",
        "PatientPosition",
        "PatientOrientation",
    ),
    # Image Pixel module (PS3.3 C.7.6.3), including palette colour tables:
    # without these there is no image.
    "image_pixel": (
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "PlanarConfiguration",
        "PixelAspectRatio",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
        "PixelPaddingValue",
        "PixelPaddingRangeLimit",
        "RedPaletteColorLookupTableDescriptor",
        "GreenPaletteColorLookupTableDescriptor",
        "BluePaletteColorLookupTableDescriptor",
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
        "SegmentedRedPaletteColorLookupTableData",
        "SegmentedGreenPaletteColorLookupTableData",
        "SegmentedBluePaletteColorLookupTableData",
        # Not ICCProfile (0028,2000): an ICC profile carries free text in its tags
        # ('desc', 'cprt', 'dmnd', 'dmdd' as ASCII or UTF-16 'mluc' records, PS3.3
        # C.11.15 points to ISO 15076-1) that a scanner or a person can fill with a
        # name, and nobody reviews it. Dropping it costs little: a viewer without a
        # profile shows the colours as sRGB, which ultrasound and photographs already
        # are in practice. Parsing and stripping its tags would keep an opaque blob the
        # verifier can only scan, not prove clean.
        "ColorSpace",
        "PixelData",
        "FloatPixelData",
        "DoubleFloatPixelData",
    ),
    # Geometry (Frame of Reference, Image Plane, projection radiography
    # calibration): position, orientation and spacing for measurements,
    # reference lines and multiplanar reformats.
    "geometry": (
        "FrameOfReferenceUID",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "PixelSpacing",
        "SliceThickness",
        "SpacingBetweenSlices",
        "SliceLocation",
        "ImagerPixelSpacing",
        "NominalScannedPixelSpacing",
        "PixelSpacingCalibrationType",
        "EstimatedRadiographicMagnificationFactor",
    ),
    # Multi-frame and cine (PS3.3 C.7.6.6, C.7.6.5): frame count and playback.
    "multi_frame_cine": (
        "NumberOfFrames",
        "FrameIncrementPointer",
        "FrameTime",
        "FrameTimeVector",
        "CineRate",
        "RecommendedDisplayFrameRate",
        "StartTrim",
        "StopTrim",
        "FrameDelay",
        "ActualFrameDuration",
        "PreferredPlaybackSequencing",
    ),
    # Modality LUT and VOI LUT (PS3.3 C.11.1, C.11.2), Presentation LUT shape:
    # values in physical units (HU) and the window the images were meant to be
    # read at; LUT sequences carry their descriptor, data and explanation.
    "lut": (
        "RescaleIntercept",
        "RescaleSlope",
        "RescaleType",
        "ModalityLUTSequence",
        "ModalityLUTType",
        "WindowCenter",
        "WindowWidth",
        "WindowCenterWidthExplanation",
        "VOILUTFunction",
        "VOILUTSequence",
        "LUTDescriptor",
        "LUTData",
        "LUTExplanation",
        "PresentationLUTShape",
    ),
    # Ultrasound region calibration (PS3.3 C.8.5.5): the Sequence of Ultrasound
    # Regions and the attributes inside its items, for calibrated measurements.
    "ultrasound_regions": (
        "SequenceOfUltrasoundRegions",
        "RegionSpatialFormat",
        "RegionDataType",
        "RegionFlags",
        "RegionLocationMinX0",
        "RegionLocationMinY0",
        "RegionLocationMaxX1",
        "RegionLocationMaxY1",
        "ReferencePixelX0",
        "ReferencePixelY0",
        "PhysicalUnitsXDirection",
        "PhysicalUnitsYDirection",
        "ReferencePixelPhysicalValueX",
        "ReferencePixelPhysicalValueY",
        "PhysicalDeltaX",
        "PhysicalDeltaY",
        "TransducerFrequency",
        "PulseRepetitionFrequency",
        "DopplerCorrectionAngle",
        "SteeringAngle",
        "DopplerSampleVolumeXPosition",
        "DopplerSampleVolumeYPosition",
        "TMLinePositionX0",
        "TMLinePositionY0",
        "TMLinePositionX1",
        "TMLinePositionY1",
        "PixelComponentOrganization",
        "PixelComponentMask",
        "PixelComponentRangeStart",
        "PixelComponentRangeStop",
        "PixelComponentPhysicalUnits",
        "PixelComponentDataType",
        "NumberOfTableBreakPoints",
        "TableOfXBreakPoints",
        "TableOfYBreakPoints",
        "NumberOfTableEntries",
        "TableOfPixelValues",
        "TableOfParameterValues",
    ),
    # CT and MR acquisition parameters a teacher discusses (technique, contrast,
    # weighting); none identifies the patient or the site.
    "acquisition": (
        "KVP",
        "ExposureTime",
        "XRayTubeCurrent",
        "Exposure",
        "ConvolutionKernel",
        "SpiralPitchFactor",
        "CTDIvol",
        "ContrastBolusAgent",
        "ScanningSequence",
        "SequenceVariant",
        "ScanOptions",
        "MRAcquisitionType",
        "EchoTime",
        "RepetitionTime",
        "InversionTime",
        "EchoTrainLength",
        "NumberOfAverages",
        "MagneticFieldStrength",
        "FlipAngle",
        "DiffusionBValue",
    ),
    # Image quality and safety flags (General Image module): a viewer must warn
    # about lossy compression, and the verifier checks the burned-in flags.
    "flags": (
        "BurnedInAnnotation",
        "RecognizableVisualFeatures",
        "LossyImageCompression",
        "LossyImageCompressionRatio",
        "LossyImageCompressionMethod",
    ),
    # Enhanced multi-frame functional groups (PS3.3 C.7.6.16): the shared and
    # per-frame sequences and the items a viewer needs to place, order and
    # window each frame.
    "functional_groups": (
        "SharedFunctionalGroupsSequence",
        "PerFrameFunctionalGroupsSequence",
        "PixelMeasuresSequence",
        "PlanePositionSequence",
        "PlaneOrientationSequence",
        "FrameVOILUTSequence",
        "PixelValueTransformationSequence",
        "FrameContentSequence",
        "StackID",
        "InStackPositionNumber",
        "TemporalPositionIndex",
    ),
}


def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise ValueError(f"not a DICOM keyword: {keyword}")
    return tag


SECOND_PASS_ALLOWLIST_KEYWORDS: tuple[str, ...] = tuple(
    sorted({kw for keywords in SECOND_PASS_ALLOWLIST_GROUPS.values() for kw in keywords})
)

SECOND_PASS_ALLOWLIST: frozenset[int] = frozenset(
    _tag(keyword) for keyword in SECOND_PASS_ALLOWLIST_KEYWORDS
)


def is_allowed(tag: int) -> bool:
    """True if the second pass keeps a data element with this tag (never a private one)."""
    return not tag & 0x10000 and tag in SECOND_PASS_ALLOWLIST
