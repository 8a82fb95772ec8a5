"""The free-text gate: no identifier-like words in published free text.

Every free-text attribute of the output (:data:`anonymizer.freetext.FREE_TEXT_KEYWORDS`,
at any depth) whose value is not exactly the one the author accepted for its keyword
(``texts``) is run through :func:`anonymizer.freetext.find_identifiers`; anything found
blocks the file. The problem names the attribute and the kind of finding, never the
value.

The detector is data and patterns shared with the first pass's review, not the header
engine's Clean Descriptors: it decides nothing about the output, it only reports, and
the author's accepted value is the decision this gate checks against.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydicom import Dataset

from anonymizer.freetext import KIND_WORDS, findings_for, free_text_values
from anonymizer.verify.verifier import Problem

__all__ = ["check_free_text"]


def check_free_text(ds: Dataset, texts: Mapping[str, str] | None = None) -> list[Problem]:
    """A Problem for each free-text value that looks identifying and was not accepted."""
    accepted = {k: v.strip() for k, v in (texts or {}).items()}
    problems: list[Problem] = []
    for keyword, value in free_text_values(ds, deep=True):
        if keyword in accepted and value.strip(" \x00") == accepted[keyword]:
            continue
        kinds = sorted({f.kind for f in findings_for(keyword, value)})
        if kinds:
            what = " and ".join(KIND_WORDS.get(kind, kind) for kind in kinds)
            problems.append(
                Problem(
                    "free-text",
                    keyword,
                    f"the text looks like it contains {what}: edit or clear it before "
                    "publishing, or leave the image out",
                )
            )
    return problems
