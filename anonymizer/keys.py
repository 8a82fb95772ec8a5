"""Keyed, deterministic replacements: UIDs, per-patient date offsets, pseudonyms.

Everything is derived from one secret with HMAC-SHA256, so the same original gives the
same replacement across files, passes and re-imports, and nobody without the secret can
go back from the replacement to the original.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

# Date offsets lie in this range of days into the past (about 1 to 10 years).
MIN_OFFSET_DAYS = 365
MAX_OFFSET_DAYS = 3652
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Keys:
    """The de-identification secret and what is derived from it."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("the de-identification secret must be at least 16 bytes")

    @classmethod
    def from_text(cls, text: str) -> Keys:
        return cls(text.encode())

    def _digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """PS3.5 B.2: a ``2.25.`` UID from 128 bits of a keyed hash of the original UID."""
        return "2.25." + str(int.from_bytes(self._digest("uid", original.strip())[:16], "big"))

    def date_offset_days(self, patient_key: str) -> int:
        """One negative offset per patient, so intervals within and across studies hold."""
        n = int.from_bytes(self._digest("date-offset", patient_key)[:8], "big")
        return -(MIN_OFFSET_DAYS + n % (MAX_OFFSET_DAYS - MIN_OFFSET_DAYS + 1))

    def pseudonym(self, patient_key: str, *, prefix: str = "TF-") -> str:
        """A stable pseudonym for a patient, when the caller does not supply one."""
        n = int.from_bytes(self._digest("pseudonym", patient_key)[:8], "big")
        chars = []
        for _ in range(10):
            n, r = divmod(n, len(_PSEUDONYM_ALPHABET))
            chars.append(_PSEUDONYM_ALPHABET[r])
        return prefix + "".join(chars)
