"""The verifier: an independent gate between the second pass and publication.

At the first pass, :func:`fingerprint` keeps keyed hashes of the original's identifying
words, numbers and UIDs (the raw file is then deleted). At the second pass, :func:`verify`
checks the final file against that fingerprint, the allowlist and the author's edits, and
only a file whose :class:`Verdict` is ``ok`` may be published. Nothing here imports the
engine's header or pixel code (STYLE.md: "The verifier shares no code path with the
engine that it checks").
"""

from anonymizer.verify.fingerprint import (
    IDENTIFYING_KEYWORDS,
    Fingerprint,
    TextRegion,
    fingerprint,
)
from anonymizer.verify.tokens import token_hash, tokens
from anonymizer.verify.verifier import Problem, Verdict, verify

__all__ = [
    "IDENTIFYING_KEYWORDS",
    "Fingerprint",
    "Problem",
    "TextRegion",
    "Verdict",
    "fingerprint",
    "token_hash",
    "tokens",
    "verify",
]
