"""Property: an identifying word planted anywhere in an output's text is always caught."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import Dataset

from anonymizer.profile.allowlist import SECOND_PASS_ALLOWLIST
from anonymizer.verify import fingerprint, verify
from tests.anonymizer.dirty import PLANTED, to_bytes
from tests.anonymizer.verify import KEYS, PSEUDONYM, assert_no_phi, clean_output, original

FINGERPRINT = fingerprint(original(), KEYS)

# Each identifying word of the original, with the keyword it belongs to.
IDENTIFIERS = [
    ("zebrafish", "PatientName"),
    ("quentin", "PatientName"),
    ("marmaduke", "PatientName"),
    ("93817465", "PatientID"),
    ("mrn93817465", "PatientID"),
    ("19471103", "PatientBirthDate"),
    ("wallaby", "PatientAddress"),
    ("5550198234", "PatientTelephoneNumbers"),
    ("grimsdottir", "PatientMotherBirthName"),
    ("77120938", "AccessionNumber"),
    ("xylophone", "InstitutionName"),
    ("quixote", "InstitutionAddress"),
    ("vortexradiology", "InstitutionalDepartmentName"),
    ("plumtree", "ReferringPhysicianName"),
    ("snodgrass", "PerformingPhysicianName"),
    ("wigglesworth", "OperatorsName"),
    ("fotheringay", "NameOfPhysiciansReadingStudy"),
    ("ctscannerqx7", "StationName"),
    ("humperdinck", "RequestingPhysician"),
    ("saintelsewherehosp", "IssuerOfPatientID"),
]

# Text attributes (LO and PN) the allowlist keeps, at the top level or in the method's item.
TOP_LEVEL = ["StudyDescription", "SeriesDescription", "DeidentificationMethod", "PatientName"]
TOP_LEVEL += ["ContrastBolusAgent", "WindowCenterWidthExplanation"]
NESTED = ["CodeMeaning"]
FILLER = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ", max_size=12)
SEPARATOR = st.sampled_from([" ", "^", "-", "_", "/", ",", ": ", "\\"])
CASE = st.sampled_from([str.upper, str.lower, str.title])


@settings(max_examples=60, deadline=None)
@given(
    identifier=st.sampled_from(IDENTIFIERS),
    attribute=st.sampled_from(TOP_LEVEL + NESTED),
    before=FILLER,
    after=FILLER,
    left=SEPARATOR,
    right=SEPARATOR,
    case=CASE,
)
def test_a_planted_identifying_word_is_always_caught(
    identifier: tuple[str, str],
    attribute: str,
    before: str,
    after: str,
    left: str,
    right: str,
    case: Callable[[str], str],
) -> None:
    word, source = identifier
    value = f"{before}{left}{case(word)}{right}{after}"
    ds = clean_output()
    target: Dataset = ds.DeidentificationMethodCodeSequence[0] if attribute in NESTED else ds
    setattr(target, attribute, value)
    verdict = verify(
        to_bytes(ds),
        fingerprint=FINGERPRINT,
        keys=KEYS,
        allowlist=SECOND_PASS_ALLOWLIST,
        pseudonym=PSEUDONYM,
    )
    assert not verdict.ok
    matching = [p for p in verdict.problems if p.kind == "identifier" and attribute in p.where]
    assert any(source in p.detail for p in matching), (value, attribute, verdict.reasons())
    assert_no_phi(verdict, *(v for v in PLANTED.values()))


CLEAN_BYTES = to_bytes(clean_output())


@settings(max_examples=150, deadline=None)
@given(
    edits=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.integers(0, len(CLEAN_BYTES)),
)
def test_corrupt_files_give_a_verdict_never_an_exception(
    edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(CLEAN_BYTES)
    for offset, value in edits:
        data[offset] = value
    for candidate in (bytes(data), bytes(data[:cut])):
        verdict = verify(candidate, fingerprint=FINGERPRINT, keys=KEYS, allowlist=None)
        assert verdict.ok == (not verdict.problems)
