"""Query and retrieve against the demo PACS, into our listener: what an author does."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pydicom
import pytest

from pacs_bridge.dicom import scu
from pacs_bridge.dicom.sample_data import demo_uid
from pacs_bridge.dicom.scu import Progress, StudyQuery
from pacs_bridge.dicom.spool import Spool
from tests.pacs_bridge.dicom.conftest import LISTENER_AET, RunningListener, RunningPacs

CT_STUDY, CT_SERIES = demo_uid("ct/study"), demo_uid("ct/series/2")
MR_STUDY, MR_T1, MR_T2 = demo_uid("mr/study"), demo_uid("mr/series/3"), demo_uid("mr/series/4")
US_STUDY = demo_uid("us/study")
US_SINGLE, US_CINE = demo_uid("us/single/series"), demo_uid("us/cine/series")


def _ids(matches: list[scu.StudyMatch]) -> set[str]:
    return {m.patient_id for m in matches}


def test_echo_returns_the_round_trip_time(pacs: RunningPacs) -> None:
    seconds = scu.echo(pacs.node)
    assert 0 < seconds < 5


def test_an_empty_query_finds_every_study_newest_first(pacs: RunningPacs) -> None:
    matches = scu.find_studies(pacs.node, StudyQuery())
    assert [m.patient_id for m in matches] == ["DEMO-0003", "DEMO-0002", "DEMO-0001"]
    ct = matches[-1]
    assert ct == scu.StudyMatch(
        study_instance_uid=CT_STUDY,
        patient_name="DEMO^CHEST CT",
        patient_id="DEMO-0001",
        accession_number="DEMOACC0001",
        study_date="20240115",
        study_description="CT CHEST WITH CONTRAST",
        modalities_in_study=("CT",),
        number_of_series=1,
        number_of_instances=6,
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (StudyQuery(patient_id="DEMO-0002"), {"DEMO-0002"}),
        (StudyQuery(patient_id="DEMO-00"), set()),  # patient ID is matched exactly
        (StudyQuery(accession_number="DEMOACC0003"), {"DEMO-0003"}),
        (StudyQuery(patient_name="DEMO^BRAIN"), {"DEMO-0002"}),  # a prefix
        (StudyQuery(patient_name="demo^ultra"), {"DEMO-0003"}),  # names ignore case here
        (StudyQuery(patient_name="*CHEST*"), {"DEMO-0001"}),  # the user's own wildcard
        (StudyQuery(patient_name="DEMO^?RAIN MR"), {"DEMO-0002"}),
        (StudyQuery(description="abdomen"), {"DEMO-0003"}),  # a substring
        (StudyQuery(description="CT*"), {"DEMO-0001"}),
        (StudyQuery(modality="mr"), {"DEMO-0002"}),
        (StudyQuery(date_from=date(2024, 3, 2), date_to=date(2024, 3, 2)), {"DEMO-0002"}),
        (StudyQuery(date_from=date(2024, 3, 1)), {"DEMO-0002", "DEMO-0003"}),
        (StudyQuery(date_to=date(2024, 3, 1)), {"DEMO-0001"}),
        (StudyQuery(date_from=date(2024, 1, 1), date_to=date(2024, 3, 31)),
         {"DEMO-0001", "DEMO-0002"}),
        (StudyQuery(patient_name="DEMO*", modality="US", description="US*"), {"DEMO-0003"}),
    ],
)  # fmt: skip
def test_each_query_field_narrows_the_studies(
    pacs: RunningPacs, query: StudyQuery, expected: set[str]
) -> None:
    assert _ids(scu.find_studies(pacs.node, query)) == expected


def test_the_study_identifier_follows_ps3_4_c_6_2() -> None:
    ds = StudyQuery(
        patient_name="smith", description="chest", date_from=date(2024, 1, 2), modality="ct"
    ).identifier()
    assert ds.QueryRetrieveLevel == "STUDY"
    assert ds.PatientName == "smith*"
    assert ds.StudyDescription == "*chest*"
    assert ds.StudyDate == "20240102-"
    assert ds.ModalitiesInStudy == "CT"
    assert ds.StudyInstanceUID == "" and ds.PatientID == ""
    assert "NumberOfStudyRelatedInstances" in ds
    assert scu.date_range(None, date(2024, 5, 6)) == "-20240506"
    assert scu.date_range(None, None) == ""


def test_limit_cancels_the_search_after_that_many_matches(pacs: RunningPacs) -> None:
    matches = scu.find_studies(pacs.node, StudyQuery(), limit=2)
    assert len(matches) == 2
    assert scu.echo(pacs.node) > 0  # the PACS is still fine


def test_find_series_lists_the_series_of_a_study_by_number(pacs: RunningPacs) -> None:
    series = scu.find_series(pacs.node, MR_STUDY)
    assert [(s.series_instance_uid, s.series_number) for s in series] == [(MR_T1, 3), (MR_T2, 4)]
    assert series[0].modality == "MR"
    assert series[0].series_description == "AX T1"
    assert series[0].number_of_instances == 3
    assert series[0].sop_class_uid == "1.2.840.10008.5.1.4.1.1.4"


def test_find_instances_lists_sop_instance_uids_by_instance_number(pacs: RunningPacs) -> None:
    uids = scu.find_instances(pacs.node, CT_STUDY, CT_SERIES)
    assert uids == [demo_uid(f"ct/series/2/instance/{i}") for i in range(1, 7)]


def _assert_spooled(
    listener: RunningListener, series_uid: str, count: int
) -> list[pydicom.Dataset]:
    files = listener.spool.files_for_series(series_uid)
    assert len(files) == count
    datasets: list[pydicom.Dataset] = []
    for path in files:
        assert path.parent == listener.spool.series_dir(series_uid)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        ds = pydicom.dcmread(path)
        assert ds.SeriesInstanceUID == series_uid
        assert path.stem == listener.spool.instance_key(ds.SOPInstanceUID)
        ds.pixel_array  # noqa: B018  (the pixel data arrived whole)
        datasets.append(ds)
    assert stat.S_IMODE(listener.spool.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(listener.spool.series_dir(series_uid).stat().st_mode) == 0o700
    assert not [p for p in listener.spool.tmp_dir.iterdir() if p.stat().st_size]
    return datasets


def test_move_of_a_series_reports_progress_and_every_file_arrives(
    pacs: RunningPacs, our_listener: RunningListener
) -> None:
    progress: list[Progress] = []
    result = scu.move(
        pacs.node,
        destination_ae=LISTENER_AET,
        study_instance_uid=CT_STUDY,
        series_instance_uids=[CT_SERIES],
        on_progress=progress.append,
    )
    assert result == scu.RetrieveResult(0x0000, 6, 0, 0, [])
    assert [p.remaining for p in progress] == [5, 4, 3, 2, 1, 0]
    assert [p.completed for p in progress] == [1, 2, 3, 4, 5, 6]
    datasets = _assert_spooled(our_listener, CT_SERIES, 6)
    assert sorted(int(ds.InstanceNumber) for ds in datasets) == [1, 2, 3, 4, 5, 6]
    assert datasets[0].file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert len(our_listener.stored) == 6


def test_move_of_a_whole_study_and_of_two_series(
    pacs: RunningPacs, our_listener: RunningListener
) -> None:
    result = scu.move(pacs.node, destination_ae=LISTENER_AET, study_instance_uid=US_STUDY)
    assert result.completed == 2
    _assert_spooled(our_listener, US_SINGLE, 1)
    cine = _assert_spooled(our_listener, US_CINE, 1)[0]
    assert cine.NumberOfFrames == 3
    result = scu.move(
        pacs.node,
        destination_ae=LISTENER_AET,
        study_instance_uid=MR_STUDY,
        series_instance_uids=[MR_T1, MR_T2],
    )
    assert (result.completed, result.failed) == (6, 0)


def test_move_of_single_instances_at_image_level(
    pacs: RunningPacs, our_listener: RunningListener
) -> None:
    wanted = [demo_uid("ct/series/2/instance/2"), demo_uid("ct/series/2/instance/5")]
    result = scu.move(
        pacs.node,
        destination_ae=LISTENER_AET,
        study_instance_uid=CT_STUDY,
        series_instance_uids=[CT_SERIES],
        sop_instance_uids=wanted,
    )
    assert result.completed == 2
    files = our_listener.spool.files_for_series(CT_SERIES)
    assert sorted(p.stem for p in files) == sorted(
        our_listener.spool.instance_key(u) for u in wanted
    )


def test_moving_the_same_series_twice_keeps_one_file_per_instance(
    pacs: RunningPacs, our_listener: RunningListener
) -> None:
    for _ in range(2):
        scu.move(
            pacs.node,
            destination_ae=LISTENER_AET,
            study_instance_uid=MR_STUDY,
            series_instance_uids=[MR_T2],
        )
    assert len(our_listener.spool.files_for_series(MR_T2)) == 3


def test_get_of_a_series_writes_into_the_spool(pacs: RunningPacs, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "get-spool")
    progress: list[Progress] = []
    result = scu.get(
        pacs.node,
        spool=spool,
        study_instance_uid=CT_STUDY,
        series_instance_uids=[CT_SERIES],
        on_progress=progress.append,
    )
    assert result == scu.RetrieveResult(0x0000, 6, 0, 0, [])
    assert progress[-1].completed == 6
    files = spool.files_for_series(CT_SERIES)
    assert len(files) == 6
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    assert {pydicom.dcmread(p).Modality for p in files} == {"CT"}


def test_get_with_the_sop_classes_from_c_find(pacs: RunningPacs, tmp_path: Path) -> None:
    series = scu.find_series(pacs.node, US_STUDY)
    spool = Spool(tmp_path / "get-spool")
    result = scu.get(
        pacs.node,
        spool=spool,
        study_instance_uid=US_STUDY,
        sop_classes=[s.sop_class_uid for s in series if s.sop_class_uid],
    )
    assert result.completed == 2
    assert len(spool.files_for_series(US_CINE)) == 1


def test_retrieve_identifier_levels() -> None:
    assert scu.retrieve_identifier("1.2").QueryRetrieveLevel == "STUDY"
    series = scu.retrieve_identifier("1.2", ["1.2.3", "1.2.4"])
    assert series.QueryRetrieveLevel == "SERIES"
    assert list(series.SeriesInstanceUID) == ["1.2.3", "1.2.4"]
    image = scu.retrieve_identifier("1.2", ["1.2.3"], ["1.2.3.4"])
    assert (image.QueryRetrieveLevel, image.SOPInstanceUID) == ("IMAGE", "1.2.3.4")
    with pytest.raises(ValueError, match="exactly one series"):
        scu.retrieve_identifier("1.2", [], ["1.2.3.4"])
