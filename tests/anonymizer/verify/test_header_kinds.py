"""The header gate tells an identifier from a time, date or number that merely shares its
digits: in a DA, TM or DT element only dates and times of the original count, and in a
number (IS, DS, binary) only the whole value of an identifier. Text keeps every check.

The false alarm behind this: on a real ultrasound file the verifier matched the digits of
StudyTime against PerformedProcedureStepID and quarantined a clean file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import FileDataset

from anonymizer.pipeline import Status, first_pass, second_pass
from anonymizer.verify import Fingerprint
from anonymizer.verify.tokens import DATE, TIME, WHOLE, kind_token, token_hash
from anonymizer.verify.verifier import Verdict
from tests.anonymizer.dirty import dirty_ct, write
from tests.anonymizer.verify import (
    KEYS,
    PSEUDONYM,
    assert_no_phi,
    check,
    clean_output,
    original,
    original_fingerprint,
    problems_of,
)


def _original(**values: str) -> FileDataset:
    ds = original()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def _identifiers(verdict: Verdict) -> list[str]:
    assert_no_phi(verdict)
    return problems_of(verdict, "identifier")


# -- the false alarms


def test_a_study_time_with_the_digits_of_the_procedure_step_id_passes() -> None:
    source = _original(StudyTime="101530", PerformedProcedureStepID="101530")
    out = clean_output()
    out.StudyTime = "101530"
    verdict = check(out, original_fingerprint(source))
    assert verdict.ok, verdict.reasons()


def test_a_date_or_date_time_sharing_digits_with_an_identifier_passes() -> None:
    source = _original(StudyID="20190402", AccessionNumber="2019040210150")
    out = clean_output()  # StudyDate 20190402, AcquisitionDateTime 20190402101502.123456
    verdict = check(out, original_fingerprint(source))
    assert verdict.ok, verdict.reasons()


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("SliceLocation", "773412"), ("InstanceNumber", "773412"), ("ExposureTime", "7734129")],
)
def test_a_number_equal_to_part_of_an_accession_number_passes(keyword: str, value: str) -> None:
    source = _original(AccessionNumber="RAD-773412-9")
    out = clean_output()
    setattr(out, keyword, value)
    verdict = check(out, original_fingerprint(source))
    assert verdict.ok, verdict.reasons()


def test_the_whole_pipeline_publishes_a_file_whose_study_time_matches_the_step_id(
    tmp_path: Path,
) -> None:
    """The reproduction on the engine's own output: first pass, then second pass."""
    source = write(
        _original(StudyTime="101530", PerformedProcedureStepID="101530"), tmp_path / "in.dcm"
    )
    first = first_pass(source, tmp_path / "work", keys=KEYS, pseudonym=PSEUDONYM, ocr=False)
    assert first.output is not None and first.fingerprint is not None, first.reasons
    second = second_pass(
        first.output,
        tmp_path / "out",
        keys=KEYS,
        fingerprint=first.fingerprint,
        pseudonym=PSEUDONYM,
    )
    assert second.status is Status.PUBLISHED, second.reasons


# -- what must still be caught


def test_the_birth_date_kept_in_a_date_element_is_still_reported() -> None:
    out = clean_output()
    out.ContentDate = "19471103"
    assert any("PatientBirthDate" in p for p in _identifiers(check(out)))


def test_the_birth_date_is_reported_in_a_date_even_when_an_id_has_the_same_digits() -> None:
    """A token shared by an ID and the birth date is still a date of the original."""
    source = _original(PatientID="19471103", OtherPatientIDs="19471103")
    out = clean_output()
    out.ContentDate = "19471103"
    found = _identifiers(check(out, original_fingerprint(source)))
    assert any("ContentDate" in p for p in found), found


def test_the_birth_date_in_a_date_time_is_still_reported() -> None:
    out = clean_output()
    out.AcquisitionDateTime = "19471103101502"
    found = _identifiers(check(out))
    assert any("AcquisitionDateTime" in p and "PatientBirthDate" in p for p in found), found


def test_the_birth_time_kept_in_a_time_element_is_still_reported() -> None:
    source = _original(PatientBirthTime="063215")
    out = clean_output()
    out.StudyTime = "063215"
    found = _identifiers(check(out, original_fingerprint(source)))
    assert any("StudyTime" in p and "PatientBirthTime" in p for p in found), found


@pytest.mark.parametrize("keyword", ["SliceLocation", "InstanceNumber"])
def test_a_whole_numeric_patient_id_kept_in_a_number_is_still_reported(keyword: str) -> None:
    source = _original(PatientID="938-174-65")
    out = clean_output()
    setattr(out, keyword, "93817465")
    found = _identifiers(check(out, original_fingerprint(source)))
    assert any(keyword in p and "PatientID" in p for p in found), found


def test_the_digits_of_an_id_in_free_text_are_still_reported() -> None:
    source = _original(PerformedProcedureStepID="101530")
    out = clean_output()
    out.SeriesDescription = "AXIAL step 101530"
    found = _identifiers(check(out, original_fingerprint(source)))
    assert any("SeriesDescription" in p and "PerformedProcedureStepID" in p for p in found)


def test_an_identifier_written_into_a_time_element_as_text_is_still_reported() -> None:
    out = clean_output()
    out.StudyTime = "MRN93817465"  # not a time at all: letters are compared as text
    assert any("StudyTime" in p for p in _identifiers(check(out)))


def test_old_fingerprints_still_check_dates_by_the_source_kind() -> None:
    """A fingerprint stored before dates were recorded by kind still finds the birth date."""
    fp = original_fingerprint(dirty_ct(1))
    dropped = {token_hash(KEYS, kind_token(kind, "19471103")) for kind in (DATE, TIME, WHOLE)}
    assert dropped & set(fp.tokens)
    old = Fingerprint(tokens={h: s for h, s in fp.tokens.items() if h not in dropped}, uids=fp.uids)
    out = clean_output()
    out.ContentDate = "19471103"
    assert any("PatientBirthDate" in p for p in _identifiers(check(out, old)))
