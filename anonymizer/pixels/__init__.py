"""Pixel data: find burned-in text, black it out, crop, and re-encode losslessly.

Pure Python (pydicom, numpy, Pillow, pytesseract); no Django.
"""

from anonymizer.pixels.codecs import (
    decoded_frames,
    normalise_native_pixel_data,
    output_transfer_syntax,
    store_pixels,
)
from anonymizer.pixels.detect import burned_in_text_reasons, propose_regions
from anonymizer.pixels.geometry import apply_crop_geometry
from anonymizer.pixels.redact import apply_edits, black_value, region_is_black
from anonymizer.pixels.regions import (
    Blackout,
    Edits,
    EditsDoNotFit,
    ProposedRegion,
    Rect,
    edits_from_json,
    edits_to_json,
)

__all__ = [
    "Blackout",
    "Edits",
    "EditsDoNotFit",
    "ProposedRegion",
    "Rect",
    "apply_crop_geometry",
    "apply_edits",
    "black_value",
    "burned_in_text_reasons",
    "decoded_frames",
    "edits_from_json",
    "edits_to_json",
    "normalise_native_pixel_data",
    "output_transfer_syntax",
    "propose_regions",
    "region_is_black",
    "store_pixels",
]
