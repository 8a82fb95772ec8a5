"""Dates shift, ages cap, dummies fit their VR, registry UIDs stay."""

import pytest
from pydicom.valuerep import validate_value

from anonymizer.header.rules import DUMMY_BY_VR
from anonymizer.header.values import (
    cap_age,
    dummy_for_vr,
    is_registry_uid,
    shift_date,
    shift_datetime,
)


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("20240315", -95, "20231211"),
        ("20240301", -1, "20240229"),  # leap day
        ("20240315", 0, "20240315"),
        (" 20240315 ", -1, "20240314"),
        ("2024.03.15", -1, "20240314"),  # ACR-NEMA dotted form
        ("202403", -400, "202302"),  # partial: through the middle of the month
        ("2024", -400, "2023"),  # partial: through the middle of the year
        ("20240101-20240131", -10, "20231222-20240121"),  # range
        ("-20240131", -10, "-20240121"),
        ("20240101-", -10, "20231222-"),
        ("", -10, ""),
    ],
)
def test_dates_shift_by_whole_days_keeping_precision(value, days, expected):
    assert shift_date(value, days) == expected


@pytest.mark.parametrize("value", ["2024031", "20241340", "yesterday", "2024-03-15", "--"])
def test_a_value_that_is_not_a_date_cannot_be_shifted(value):
    assert shift_date(value, -10) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20240315101502.123456", "20231211101502.123456"),
        ("20240315101502.123+0100", "20231211101502.123+0100"),
        ("20240315101502-0500", "20231211101502-0500"),  # the offset is not a range
        ("2024031510", "2023121110"),
        ("20240315", "20231211"),
        ("202403", "202312"),
        ("2024", "2024"),  # 2 July 2024 - 95 days is still in 2024
        ("20240315101502-20240316101502", "20231211101502-20231212101502"),
        ("20240315101502-0500-20240316", "20231211101502-0500-20231212"),
    ],
)
def test_datetimes_shift_the_date_and_keep_time_and_offset(value, expected):
    assert shift_datetime(value, -95) == expected


def test_a_value_that_is_not_a_datetime_cannot_be_shifted():
    assert shift_datetime("2024-03-15T10:15", -1) is None


def test_intervals_between_shifted_dates_are_kept():
    import datetime as dt

    a, b = "20240315", "20250101"
    sa, sb = shift_date(a, -1234), shift_date(b, -1234)
    assert sa is not None
    assert sb is not None

    def days(x: str) -> dt.date:
        return dt.date(int(x[:4]), int(x[4:6]), int(x[6:]))

    assert days(b) - days(a) == days(sb) - days(sa)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("076Y", "076Y"),
        ("089Y", "089Y"),
        ("090Y", "090Y"),
        ("095Y", "090Y"),
        ("120Y", "090Y"),
        ("5M", "005M"),
        ("999M", "999M"),  # 83 years
        ("006W", "006W"),
        ("030D", "030D"),
        (" 095y ", "090Y"),
        ("", ""),
    ],
)
def test_ages_over_89_years_become_090Y(value, expected):
    assert cap_age(value) == expected


@pytest.mark.parametrize("value", ["76", "1000Y", "abcY", "76 Y"])
def test_a_value_that_is_not_an_age_is_refused(value):
    assert cap_age(value) is None


@pytest.mark.parametrize("vr", sorted(vr for vr, v in DUMMY_BY_VR.items() if isinstance(v, str)))
def test_text_dummies_are_valid_for_their_vr(vr):
    value = dummy_for_vr(vr)
    assert value
    validate_value(vr, value, validation_mode=2)  # 2: raise on an invalid value


def test_binary_dummies_have_non_zero_even_length():
    for vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        value = dummy_for_vr(vr)
        assert isinstance(value, bytes)
        assert value
        assert len(value) % 2 == 0


def test_ambiguous_vrs_take_their_first_member_for_dummies():
    assert dummy_for_vr("US or SS") == 0


@pytest.mark.parametrize(
    "uid",
    [
        "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
        "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
        "1.2.840.10008.1.4.1.1",  # a well-known frame of reference
        "1.2.840.10008.2.16.4",  # DCM coding scheme
        "1.2.840.10008.5.1.4.1.1.999.1",  # a future class under the DICOM root
        "1.2.840.10008.1.2.1\x00",
    ],
)
def test_registry_uids_are_kept(uid):
    assert is_registry_uid(uid)


@pytest.mark.parametrize(
    "uid", ["1.2.826.0.1.3680043.8.498.19471103.1", "2.25.1234", "1.3.12.2.1107.5.1.4"]
)
def test_instance_uids_are_not_registry_uids(uid):
    assert not is_registry_uid(uid)
