"""Free text: identifier-like words in descriptions, for the author's review and the gate.

:func:`find_identifiers` (``detect.py``) finds person names, codes, long numbers, dates,
phone numbers, e-mail and web addresses and the file's own identifying words in a text;
:func:`review_values` (``review.py``) lists the free-text attributes a published file
keeps, with what was found in each. Pure Python and data (Faker's name lists, a
descriptor vocabulary): the verifier uses it too, so it imports nothing of the header
engine.
"""

from anonymizer.freetext.detect import KIND_WORDS, KINDS, Finding, find_identifiers
from anonymizer.freetext.review import (
    FREE_TEXT_KEYWORDS,
    findings_for,
    free_text_values,
    review_values,
)

__all__ = [
    "FREE_TEXT_KEYWORDS",
    "KINDS",
    "KIND_WORDS",
    "Finding",
    "find_identifiers",
    "findings_for",
    "free_text_values",
    "review_values",
]
