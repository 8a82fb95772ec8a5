"""The first pass's fingerprint: small, keyed, and free of identifiers in clear."""

from __future__ import annotations

import json

import pytest
from pydicom.datadict import tag_for_keyword

from anonymizer.verify import IDENTIFYING_KEYWORDS, Fingerprint, fingerprint
from anonymizer.verify.fingerprint import MAX_PRIVATE_TOKENS, uid_hash
from anonymizer.verify.tokens import token_hash
from tests.anonymizer.dirty import PLANTED_UIDS, dirty_ct, dirty_us_cine
from tests.anonymizer.verify import KEYS, phi_fragments


def test_identifying_keywords_are_dicom_keywords() -> None:
    assert all(tag_for_keyword(keyword) is not None for keyword in IDENTIFYING_KEYWORDS)


def test_fingerprint_json_holds_no_identifier_or_part_of_one() -> None:
    text = json.dumps(fingerprint(dirty_ct(), KEYS).to_json())
    for fragment in phi_fragments():
        assert fragment not in text
    assert "NESTEDGOBLIN" not in text.upper()


def test_fingerprint_round_trips_through_json() -> None:
    fp = fingerprint(dirty_us_cine(), KEYS)
    assert Fingerprint.from_json(json.loads(json.dumps(fp.to_json()))) == fp


def test_fingerprint_is_small() -> None:
    fp = fingerprint(dirty_ct(), KEYS)
    assert len(fp.tokens) + len(fp.uids) < 300


def test_fingerprint_holds_each_identifying_word_under_its_keyword() -> None:
    fp = fingerprint(dirty_ct(), KEYS)
    assert fp.tokens[token_hash(KEYS, "zebrafish")] == "PatientName"
    assert fp.tokens[token_hash(KEYS, "93817465")] == "PatientID"
    assert fp.tokens[token_hash(KEYS, "pacsleakaet")] == "SourceApplicationEntityTitle"
    assert fp.tokens[token_hash(KEYS, "oswald")] == "PatientName"  # in a private sequence
    assert fp.tokens[token_hash(KEYS, "privatezebrafish")].startswith("private (0029,")


def test_fingerprint_hashes_instance_uids_but_not_class_uids() -> None:
    ds = dirty_ct()
    fp = fingerprint(ds, KEYS)
    for uid in PLANTED_UIDS.values():
        assert uid_hash(KEYS, uid) in fp.uids
    assert uid_hash(KEYS, PLANTED_UIDS["StudyInstanceUID"] + ".7") in fp.uids
    assert uid_hash(KEYS, ds.SOPClassUID) not in fp.uids
    assert uid_hash(KEYS, ds.file_meta.ImplementationClassUID) not in fp.uids


def test_private_words_echoing_public_attributes_are_left_out() -> None:
    ds = dirty_ct()
    block = ds.private_block(0x0029, "ACME IMAGING 1.0")
    block.add_new(0x20, "LO", "AXIAL ROUTINE HELICOPTER")
    ds.SeriesDescription = "HELICOPTER"
    fp = fingerprint(ds, KEYS)
    assert token_hash(KEYS, "helicopter") not in fp.tokens


def test_private_tokens_are_capped() -> None:
    ds = dirty_ct()
    block = ds.private_block(0x0031, "NOISY VENDOR", create=True)
    words = " ".join(f"word{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}x" for i in range(600))
    block.add_new(0x10, "UT", words)
    fp = fingerprint(ds, KEYS)
    private = [source for source in fp.tokens.values() if source.startswith("private")]
    assert len(private) <= MAX_PRIVATE_TOKENS


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"version": 2, "tokens": {}, "uids": []},
        {"version": 1, "tokens": {"zebrafish": "PatientName"}, "uids": []},
        {"version": 1, "tokens": {}, "uids": ["1.2.3"]},
        {"version": 1, "tokens": [], "uids": []},
    ],
)
def test_malformed_fingerprint_json_is_rejected(obj: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        Fingerprint.from_json(obj)


def test_fingerprints_of_a_series_merge_into_their_union() -> None:
    first, second = fingerprint(dirty_ct(1), KEYS), fingerprint(dirty_ct(2), KEYS)
    merged = Fingerprint.merge([first, second])
    assert merged.uids == first.uids | second.uids
    assert merged.tokens.keys() == first.tokens.keys() | second.tokens.keys()
