"""Value rules of the header engine: date shifting, age capping, dummies, UID policy.

Pure functions on strings, each tested on its own.

- Dates (DA) and date-times (DT) are shifted by a per-patient number of days
  (Retain Longitudinal Temporal Information with Modified Dates Option, PS3.15 E.3.6),
  so intervals within and across a patient's studies hold. The time and the UTC offset
  of a DT are kept. Partial values keep their precision: a year or a year and month
  is shifted through the middle of the period it names. Ranges ("A-B", "-B", "A-") are
  shifted end by end. A value that is not a date returns None: the caller empties it.
- Ages (AS) over 89 years become "090Y" (HIPAA Safe Harbor aggregates ages of 90 and
  over); a value that is not an age returns None.
- UIDs in the DICOM registry (anything under the DICOM root 1.2.840.10008, and
  everything in pydicom's UID dictionary) identify no one and are kept; every other
  UID is an instance UID and is remapped (PS3.15 E.1.1, action U).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from pydicom._uid_dict import UID_dictionary

from .rules import DUMMY_BY_VR

__all__ = [
    "AGE_CAP",
    "cap_age",
    "dummy_for_vr",
    "is_registry_uid",
    "shift_date",
    "shift_datetime",
]

AGE_CAP = "090Y"
_MAX_YEARS = 89
_DAYS_PER_YEAR = 365.25
_AGE = re.compile(r"(\d{1,3})([DWMY])")
_DATE_DOTTED = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})")  # ACR-NEMA 2.0 "YYYY.MM.DD"
_DT = re.compile(
    r"(\d{4}(?:\d{2}(?:\d{2})?)?)(\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,6})?)?)?)?([+-]\d{4})?"
)
_DICOM_ROOT = "1.2.840.10008."

_Shifter = Callable[[str, int], "str | None"]


# -- dates -------------------------------------------------------------------------------


def _shift_day(digits: str, days: int) -> str | None:
    """Shift 'YYYY', 'YYYYMM' or 'YYYYMMDD' by ``days``, keeping the precision."""
    try:
        year = int(digits[:4])
        if len(digits) == 8:
            day = dt.date(year, int(digits[4:6]), int(digits[6:8]))
        elif len(digits) == 6:
            day = dt.date(year, int(digits[4:6]), 15)  # the middle of the month
        elif len(digits) == 4:
            day = dt.date(year, 7, 2)  # the middle of the year
        else:
            return None
        shifted = day + dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return shifted.strftime("%Y%m%d")[: len(digits)]


def _shift_one_date(value: str, days: int) -> str | None:
    if len(value) == 8 and value.isdigit():  # the common case first
        return _shift_day(value, days)
    dotted = _DATE_DOTTED.fullmatch(value)
    if dotted:
        return _shift_day("".join(dotted.groups()), days)
    if len(value) in (4, 6) and value.isdigit():
        return _shift_day(value, days)
    return None


def _shift_one_datetime(value: str, days: int) -> str | None:
    match = _DT.fullmatch(value)
    if match is None:
        return None
    date = _shift_day(match.group(1), days)
    if date is None:
        return None
    return date + value[match.end(1) :]


def _shift_range(value: str, days: int, shift_one: _Shifter) -> str | None:
    """Shift ``value`` as one value or, failing that, as a range "A-B" (either end may
    be empty). A DT's UTC offset may itself contain "-", so each split is tried."""
    single = shift_one(value, days)
    if single is not None:
        return single
    start = 0
    while (index := value.find("-", start)) >= 0:
        low, high = value[:index], value[index + 1 :]
        new_low = shift_one(low, days) if low else ""
        new_high = shift_one(high, days) if high else ""
        if new_low is not None and new_high is not None and (low or high):
            return f"{new_low}-{new_high}"
        start = index + 1
    return None


def shift_date(value: str, days: int) -> str | None:
    """Shift one DA value by ``days``: '20240315' -> '20231211' for -95 days.

    Also 'YYYY', 'YYYYMM', 'YYYY.MM.DD' (ACR-NEMA, written back as YYYYMMDD) and
    ranges. Surrounding spaces are ignored; '' stays ''. None if not a date.
    """
    value = value.strip()
    if not value:
        return ""
    return _shift_range(value, days, _shift_one_date)


def shift_datetime(value: str, days: int) -> str | None:
    """Shift the date part of one DT value by ``days``; keep time, fraction and offset.

    '20240315101502.123+0100' -> '20231211101502.123+0100' for -95 days. Partial
    values ('2024', '202403') and ranges are shifted too. None if not a date-time.
    """
    value = value.strip()
    if not value:
        return ""
    return _shift_range(value, days, _shift_one_datetime)


# -- ages --------------------------------------------------------------------------------


def cap_age(value: str) -> str | None:
    """An AS value with ages over 89 years aggregated as '090Y'; None if not an age.

    '076Y' -> '076Y', '095Y' -> '090Y', '5M' -> '005M'; months, weeks and days count
    too (a value in days or weeks cannot exceed 89 years in three digits, but is
    checked the same way). '' stays ''.
    """
    value = value.strip().upper()
    if not value:
        return ""
    match = _AGE.fullmatch(value)
    if match is None:
        return None
    number, unit = int(match.group(1)), match.group(2)
    years = {
        "Y": number,
        "M": number / 12,
        "W": number * 7 / _DAYS_PER_YEAR,
        "D": number / _DAYS_PER_YEAR,
    }[unit]
    if years > _MAX_YEARS:
        return AGE_CAP
    return f"{number:03d}{unit}"


# -- dummies -----------------------------------------------------------------------------


def dummy_for_vr(vr: str) -> str | int | float | bytes:
    """The dummy value of action D for ``vr`` (rules.DUMMY_BY_VR); KeyError for UI/SQ."""
    return DUMMY_BY_VR[vr.split(" or ", 1)[0]]


# -- UIDs --------------------------------------------------------------------------------


def is_registry_uid(uid: str) -> bool:
    """True for a UID the DICOM standard defines (kept); False for an instance UID."""
    uid = uid.strip().rstrip("\x00")
    return uid.startswith(_DICOM_ROOT) or uid in UID_dictionary
