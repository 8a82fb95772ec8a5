"""Tests of the header de-identification engine, and helpers they share."""

from __future__ import annotations

import io

import pydicom
from pydicom.dataset import Dataset, FileDataset

from anonymizer.header import HeaderContext, HeaderReport, deidentify_header, rebuild_file_meta
from anonymizer.keys import Keys
from anonymizer.profile import FIRST_PASS, Profile

KEYS = Keys(b"header-tests-secret-0123456789")
PSEUDONYM = "TF-TESTPSEUDO"


def context(profile: Profile = FIRST_PASS, **kwargs: object) -> HeaderContext:
    return HeaderContext(keys=KEYS, profile=profile, pseudonym=PSEUDONYM, **kwargs)  # type: ignore[arg-type]


def run(ds: Dataset, profile: Profile = FIRST_PASS, **kwargs: object) -> HeaderReport:
    return deidentify_header(ds, context(profile, **kwargs))


def write(ds: Dataset) -> bytes:
    """The bytes of ``ds`` as a file with a rebuilt file meta."""
    rebuild_file_meta(ds)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def reread(data: bytes) -> FileDataset:
    return pydicom.dcmread(io.BytesIO(data))


def count_elements(ds: Dataset) -> int:
    """Data elements at every depth (file meta not included)."""
    total = 0
    for elem in ds:
        total += 1
        if elem.VR == "SQ":
            total += sum(count_elements(item) for item in elem.value)
    return total


def all_tags(ds: Dataset) -> set[int]:
    """Every tag at every depth."""
    found: set[int] = set()
    for elem in ds:
        found.add(int(elem.tag))
        if elem.VR == "SQ":
            for item in elem.value:
                found |= all_tags(item)
    return found
