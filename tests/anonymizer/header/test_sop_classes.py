"""Only image storage classes are publishable; everything else says why not."""

import pytest
from pydicom import uid
from pydicom._uid_dict import UID_dictionary

from anonymizer.sop_classes import NEEDS_REVIEW, PUBLISHABLE, SOP_CLASSES, needs_review, publishable


@pytest.mark.parametrize(
    "sop_class",
    [
        uid.CTImageStorage,
        uid.UltrasoundImageStorage,
        uid.UltrasoundMultiFrameImageStorage,
        uid.MRImageStorage,
        uid.EnhancedCTImageStorage,
        uid.DigitalXRayImageStorageForPresentation,
        uid.DigitalMammographyXRayImageStorageForPresentation,
        uid.SecondaryCaptureImageStorage,
        uid.MultiFrameTrueColorSecondaryCaptureImageStorage,
        uid.PositronEmissionTomographyImageStorage,
        uid.BreastTomosynthesisImageStorage,
    ],
)
def test_image_classes_are_publishable(sop_class):
    ok, reason = publishable(sop_class)
    assert ok
    assert reason
    assert not needs_review(sop_class)


def test_photographs_are_publishable_but_always_reviewed():
    ok, reason = publishable(uid.VLPhotographicImageStorage)
    assert ok
    assert "faces" in reason
    assert needs_review(uid.VLPhotographicImageStorage)
    assert needs_review(uid.VLEndoscopicImageStorage)
    assert NEEDS_REVIEW <= PUBLISHABLE


@pytest.mark.parametrize(
    ("sop_class", "words"),
    [
        (uid.BasicTextSRStorage, "Structured Reports"),
        (uid.EnhancedSRStorage, "Structured Reports"),
        (uid.ComprehensiveSRStorage, "Structured Reports"),
        (uid.Comprehensive3DSRStorage, "Structured Reports"),
        (uid.KeyObjectSelectionDocumentStorage, "Structured Reports"),
        (uid.MammographyCADSRStorage, "Structured Reports"),
        (uid.XRayRadiationDoseSRStorage, "Structured Reports"),
        (uid.GrayscaleSoftcopyPresentationStateStorage, "Presentation States"),
        (uid.ColorSoftcopyPresentationStateStorage, "Presentation States"),
        (uid.EncapsulatedPDFStorage, "Encapsulated documents"),
        (uid.EncapsulatedCDAStorage, "Encapsulated documents"),
        (uid.EncapsulatedSTLStorage, "Encapsulated documents"),
        (uid.RawDataStorage, "Raw Data"),
        (uid.RTStructureSetStorage, "RT objects"),
        (uid.RTPlanStorage, "RT objects"),
        (uid.RTDoseStorage, "RT objects"),
        (uid.MRSpectroscopyStorage, "Spectroscopy"),
        (uid.TwelveLeadECGWaveformStorage, "Waveforms"),
        ("1.2.840.10008.1.3.10", "DICOMDIR"),
        (uid.HangingProtocolStorage, "Hanging Protocols"),
        (uid.ColorPaletteStorage, "Color Palettes"),
        (uid.SegmentationStorage, "derived"),
    ],
)
def test_other_classes_are_refused_with_a_plain_reason(sop_class, words):
    ok, reason = publishable(sop_class)
    assert not ok
    assert words in reason


def test_an_unknown_class_is_refused():
    assert publishable("1.2.3.4.5") == (False, "unknown SOP class 1.2.3.4.5")
    assert publishable("1.2.840.10008.1.1") == (False, "unknown SOP class 1.2.840.10008.1.1")


def test_trailing_padding_does_not_change_the_answer():
    assert publishable(uid.CTImageStorage + "\x00")[0]


def test_every_storage_class_of_the_dictionary_is_in_the_table():
    storage = {k for k, v in UID_dictionary.items() if v[1] == "SOP Class" and "Storage" in v[0]}
    assert storage <= set(SOP_CLASSES)
    assert set(SOP_CLASSES) >= PUBLISHABLE
    refused = [p for p in SOP_CLASSES.values() if not p.publishable]
    assert all(p.reason for p in refused)
