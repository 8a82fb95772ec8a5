"""The built-in demo PACS: its archive index, its C-FIND matching (PS3.4 C.2.2.2), and
the demo studies it serves."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from pacs_bridge.dicom import scu
from pacs_bridge.dicom.contexts import MAX_REQUESTED_CONTEXTS, get_contexts
from pacs_bridge.dicom.demo_pacs import DemoArchive, matches, serve_demo_pacs
from pacs_bridge.dicom.sample_data import US_HEADER_TEXT, build_demo_studies
from tests.pacs_bridge.dicom.conftest import stop_server
from tests.peers import free_port


@pytest.mark.parametrize(
    ("keyword", "query", "value", "expected"),
    [
        ("PatientName", "", "DOE^JOHN", True),
        ("PatientName", "*", "DOE^JOHN", True),
        ("PatientName", "doe*", "DOE^JOHN", True),
        ("PatientName", "D?E^JOHN", "DOE^JOHN", True),
        ("PatientName", "DOE", "DOE^JOHN", False),
        ("PatientName", "doe^john", "DOE^JOHN", True),
        ("StudyDescription", "*chest*", "CT CHEST", True),
        ("PatientID", "ID1", "ID1", True),
        ("PatientID", "id1", "ID1", False),
        ("PatientID", "ID", "ID1", False),
        ("AccessionNumber", "A1", "A12", False),
        ("StudyDate", "20240101", "20240101", True),
        ("StudyDate", "20240101-20240131", "20240115", True),
        ("StudyDate", "20240101-20240131", "20240201", False),
        ("StudyDate", "20240101-", "20250101", True),
        ("StudyDate", "-20240101", "20230101", True),
        ("StudyDate", "-20240101", "20240102", False),
        ("StudyInstanceUID", "1.2\\1.3", "1.3", True),
        ("StudyInstanceUID", "1.2\\1.3", "1.4", False),
        ("StudyInstanceUID", "1.2", "1.2.3", False),
    ],
)
def test_matching(keyword: str, query: str, value: str, expected: bool) -> None:
    assert matches(keyword, query, value) is expected


def test_the_archive_indexes_studies_series_and_instances(archive_folder: Path) -> None:
    archive = DemoArchive(archive_folder)
    assert len(archive.studies) == 3
    assert sum(len(s.series) for s in archive.studies.values()) == 5
    assert sum(s.number_of_instances for s in archive.studies.values()) == 14
    assert archive.unreadable == []


def test_patient_level_find_counts_the_patients_studies(archive_folder: Path) -> None:
    archive = DemoArchive(archive_folder)
    identifier = Dataset()
    identifier.QueryRetrieveLevel = "PATIENT"
    identifier.PatientID = "DEMO-0002"
    identifier.PatientName = ""
    identifier.NumberOfPatientRelatedStudies = None
    identifier.NumberOfPatientRelatedInstances = None
    [patient] = archive.find(identifier)
    assert patient.PatientName == "DEMO^BRAIN MR"
    assert (patient.NumberOfPatientRelatedStudies, patient.NumberOfPatientRelatedInstances) == (
        1,
        6,
    )


def test_serve_demo_pacs_serves_a_folder(archive_folder: Path) -> None:
    port = free_port()
    server = serve_demo_pacs(
        archive_folder,
        ae_title="DEMOPACS",
        host="127.0.0.1",
        port=port,
        destinations={},
        block=False,
    )
    assert server is not None
    try:
        node = scu.Node("DEMOPACS", "127.0.0.1", port)
        assert len(scu.find_studies(node, scu.StudyQuery(patient_name="DEMO*"))) == 3
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def full_demo_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], float]:
    folder = tmp_path_factory.mktemp("demo-full")
    start = time.monotonic()
    paths = build_demo_studies(folder)
    return paths, time.monotonic() - start


def test_the_demo_set_is_small_and_quick_to_build(full_demo_set: tuple[list[Path], float]) -> None:
    paths, seconds = full_demo_set
    assert seconds < 10
    assert sum(p.stat().st_size for p in paths) < 60e6
    again = time.monotonic()
    assert build_demo_studies(paths[0].parents[1]) == paths  # idempotent: nothing rebuilt
    assert time.monotonic() - again < 0.5


def test_the_demo_set_holds_ct_mr_and_ultrasound(full_demo_set: tuple[list[Path], float]) -> None:
    paths, _ = full_demo_set
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
    by_modality: dict[str, list[pydicom.Dataset]] = {}
    for ds in headers:
        by_modality.setdefault(ds.Modality, []).append(ds)
    ct = by_modality["CT"]
    assert len(ct) >= 40 and ct[0].Rows in (256, 512)
    positions = sorted(float(ds.ImagePositionPatient[2]) for ds in ct)
    assert np.allclose(np.diff(positions), float(ct[0].SliceThickness))
    assert len({ds.SOPInstanceUID for ds in headers}) == len(headers)
    assert len(by_modality["MR"]) >= 20
    assert {ds.PatientID for ds in headers} == {"DEMO-0001", "DEMO-0002", "DEMO-0003"}
    assert all(str(ds.PatientName).startswith("DEMO^") for ds in headers)
    us = by_modality["US"]
    assert sorted(int(ds.get("NumberOfFrames", 1)) for ds in us) == [1, 30]
    for image in us:
        assert image.BurnedInAnnotation == "YES"
        assert image.SequenceOfUltrasoundRegions[0].RegionLocationMinY0 > 0  # below the text


def test_the_ultrasound_header_is_burned_into_every_frame(
    full_demo_set: tuple[list[Path], float],
) -> None:
    paths, _ = full_demo_set
    cine = next(
        p for p in paths if pydicom.dcmread(p, stop_before_pixels=True).get("NumberOfFrames")
    )
    frames = pydicom.dcmread(cine).pixel_array
    assert frames.shape == (30, 480, 640, 3)
    band = frames[:, :40, :, 0]
    assert (band > 200).sum(axis=(1, 2)).min() > 500  # white text on every frame
    assert US_HEADER_TEXT == "DEMO^ULTRASOUND  ID DEMO-0003  DOB 1970-01-01"


def test_c_get_contexts_stay_within_128_with_one_per_class_and_syntax() -> None:
    contexts, roles = get_contexts(None)
    assert len(contexts) <= MAX_REQUESTED_CONTEXTS
    assert all(len(cx.transfer_syntax) == 1 for cx in contexts[1:])
    pairs = {(cx.abstract_syntax, cx.transfer_syntax[0]) for cx in contexts[1:]}
    assert len(pairs) == len(contexts) - 1
    assert all(role.scp_role and not role.scu_role for role in roles)
    known, _ = get_contexts(["1.2.840.10008.5.1.4.1.1.2"])
    assert len(known) == 1 + 13  # every syntax for the one class C-FIND told us about
    many, _ = get_contexts([f"1.2.3.{i}" for i in range(300)])
    assert len(many) == MAX_REQUESTED_CONTEXTS
