"""Header de-identification: DICOM PS3.15 Annex E on every data element, at every depth.

- :mod:`.engine`: :func:`deidentify_header`, the walk and its decisions.
- :mod:`.rules`: the rule tables (always removed, not in Table E.1-1, dummies...).
- :mod:`.values`: dates, ages, dummies and the UID policy.
- :mod:`.text`: Clean Descriptors for free text.
- :mod:`.filemeta`: a fresh File Meta Information group and preamble.
- :mod:`.bitstream`: comment and metadata segments removed from JPEG/JPEG 2000 frames.
"""

from .bitstream import clean_encapsulated_pixel_data
from .engine import HeaderContext, HeaderReport, decide, deidentify_header
from .filemeta import (
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    output_transfer_syntax,
    rebuild_file_meta,
)
from .text import clean_descriptor

__all__ = [
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "HeaderContext",
    "HeaderReport",
    "clean_descriptor",
    "clean_encapsulated_pixel_data",
    "decide",
    "deidentify_header",
    "output_transfer_syntax",
    "rebuild_file_meta",
]
