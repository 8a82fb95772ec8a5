"""Property: identifiers planted anywhere (any text attribute, any depth, private blocks,
any character set) are gone from the bytes after the first pass."""

from __future__ import annotations

import datetime as dt
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import DicomDictionary
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

from anonymizer.header.engine import decide
from anonymizer.header.rules import DUMMY_BY_VR, Step
from anonymizer.profile import FIRST_PASS
from tests.anonymizer.dirty import to_bytes

from . import PSEUDONYM, reread, run, write

_TEXT_VRS = {"PN", "LO", "SH", "LT", "ST", "UT"}


def _standard(vrs: set[str]) -> list[tuple[int, str]]:
    found = []
    for tag, (vr, _vm, _name, retired, keyword) in DicomDictionary.items():
        group = tag >> 16
        if vr in vrs and not retired and keyword and group not in (0x0000, 0x0002, 0x0004):
            found.append((tag, vr))
    return sorted(found)


# Any text attribute the first pass does not keep verbatim (removed, emptied, dummied,
# pseudonymised, cleaned, or kept with the data set's identifiers stripped).
IDENTIFIER_POOL = [
    (tag, vr)
    for tag, vr in _standard(_TEXT_VRS)
    if decide(FIRST_PASS, tag, vr).step is not Step.KEEP
]
# Text attributes whose value the first pass discards whatever it is.
DISCARDED_POOL = [
    (tag, vr)
    for tag, vr in IDENTIFIER_POOL
    if decide(FIRST_PASS, tag, vr).step in {Step.REMOVE, Step.ZERO, Step.DUMMY, Step.PSEUDONYM}
]
# Sequences the first pass keeps and walks into.
SEQUENCES = [
    tag for tag, _ in _standard({"SQ"}) if decide(FIRST_PASS, tag, "SQ").step is Step.RECURSE
]
PRIVATE_GROUPS = [0x0009, 0x0011, 0x0029, 0x0043, 0x7FD1, 0x6001]
ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NON_ASCII = "ÄÖÜÉÈÑßÆØÅŁŻ山田太郎花子やまだ"


# Text the engine itself writes: a planted value inside it would be found by accident.
_WRITTEN = " ".join(
    [
        *(v for v in DUMMY_BY_VR.values() if isinstance(v, str)),
        *FIRST_PASS.method_values(),
        PSEUDONYM,
        "CT CHEST prior study of",
    ]
).lower()


def _words(non_ascii: bool) -> st.SearchStrategy[str]:
    alphabet = ASCII_UPPER + (NON_ASCII if non_ascii else "")
    return st.text(alphabet, min_size=10, max_size=14).filter(lambda w: w.lower() not in _WRITTEN)


def _fit(vr: str, value: str, template: str) -> str:
    if vr == "SH":
        return value  # 16 characters at most
    if vr == "PN":
        return f"{value}^X"
    return template.format(value)


def _item_at(ds: Dataset, path: list[int]) -> Dataset:
    """The first item at the end of ``path`` (sequence tags), created as needed."""
    for tag in path:
        if tag not in ds:
            ds.add_new(tag, "SQ", Sequence([Dataset()]))
        ds = ds[tag].value[0]
    return ds


@st.composite
def dirty_datasets(draw: st.DrawFn) -> tuple[FileDataset, set[str]]:
    non_ascii = draw(st.booleans())
    words = _words(non_ascii)
    family, given_name, patient_id, institution, accession = draw(
        st.lists(words, min_size=5, max_size=5, unique=True)
    )
    birth = draw(st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31))).strftime("%Y%m%d")
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192" if non_ascii else "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.4242"
    ds.PatientName = f"{family}^{given_name}"
    ds.PatientID = patient_id
    ds.InstitutionName = institution
    ds.AccessionNumber = accession
    ds.PatientBirthDate = birth
    identities = [family, given_name, patient_id, institution, accession, birth]
    planted = set(identities)

    paths = st.lists(st.sampled_from(SEQUENCES), max_size=4)
    templates = st.sampled_from(["{}", "CT {} CHEST", "{} 5 mm", "prior study of {}"])
    for tag, vr in draw(st.lists(st.sampled_from(IDENTIFIER_POOL), min_size=1, max_size=8)):
        value = draw(st.sampled_from(identities))
        if draw(st.booleans()) and value.isascii():
            value = value.lower()
        item = _item_at(ds, draw(paths))
        if tag not in item:  # never overwrite the identity itself
            item.add_new(tag, vr, _fit(vr, value, draw(templates)))
    for tag, vr in draw(st.lists(st.sampled_from(DISCARDED_POOL), max_size=6)):
        value = draw(words)
        item = _item_at(ds, draw(paths))
        if tag not in item:
            planted.add(value)
            item.add_new(tag, vr, _fit(vr, value, draw(templates)))
    for _ in range(draw(st.integers(0, 3))):
        creator = draw(st.text(ASCII_UPPER + " ", min_size=3, max_size=20).map(str.strip))
        value = draw(st.sampled_from(identities) | words)
        planted.add(value)
        item = _item_at(ds, draw(paths))
        block = item.private_block(
            draw(st.sampled_from(PRIVATE_GROUPS)), creator or "X", create=True
        )
        block.add_new(0x10, "LO", value)
        inner = Dataset()
        inner.PatientName = f"{value}^Y"
        block.add_new(0x11, "SQ", Sequence([inner]))

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return FileDataset("", ds, file_meta=meta, preamble=b"\0" * 128), planted


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(dirty_datasets())
def test_planted_identifiers_are_nowhere_in_the_output(case):
    ds, planted = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid VM or length of planted values is fine
        data = to_bytes(ds)
        read = reread(data)
        run(read)
        out = write(read)
    assert any(value.encode("utf-8") in data for value in planted)
    for value in planted:
        assert value.encode("utf-8") not in out, value
        assert value.lower().encode("utf-8") not in out, value
