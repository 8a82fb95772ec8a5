"""The first pass on the Django side: raw files become instances of a draft case."""

import stat

import pytest
from django.conf import settings

from cases.ingest import files_ingest, reid_decrypt
from cases.models import Instance, QuarantineItem, ReidentificationKey, Series
from cases.services import case_create
from tests.anonymizer.dirty import PLANTED, dirty_ct, dirty_us_cine, planted_byte_patterns, write

pytestmark = pytest.mark.django_db


@pytest.fixture
def raw(tmp_path):
    """Raw received files in the incoming store, as the listener leaves them."""
    root = settings.INCOMING_ROOT / f"t-{tmp_path.name}"

    def make(name, ds=None, data=None):
        path = root / name
        if ds is not None:
            write(ds, path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return path

    return make


def test_a_batch_becomes_instances_and_the_raw_files_are_deleted(author, raw):
    case = case_create(author=author)
    paths = [raw(f"ct{i}.dcm", dirty_ct(i)) for i in (1, 2)] + [raw("us.dcm", dirty_us_cine())]
    outcome = files_ingest(case=case, paths=paths)
    assert (outcome.instances, outcome.quarantined, outcome.needs_review) == (3, 0, 1)
    assert not any(p.exists() for p in paths)
    assert Series.objects.filter(case=case).count() == 1
    us = Instance.objects.get(series__case=case, number_of_frames=4)
    assert us.status == Instance.Status.NEEDS_REVIEW and us.review_reasons
    for instance in Instance.objects.filter(series__case=case):
        path = settings.WORKING_ROOT / instance.working_file
        data = path.read_bytes()
        assert all(p not in data for p in planted_byte_patterns())
        assert instance.fingerprint["tokens"]
    case.refresh_from_db()
    assert (case.patient_sex, case.modality) == ("F", "CT")


def test_pulling_the_same_files_again_adds_nothing(author, raw):
    case = case_create(author=author)
    files_ingest(case=case, paths=[raw("a.dcm", dirty_ct(1))])
    files_ingest(case=case, paths=[raw("b.dcm", dirty_ct(1))])
    assert Instance.objects.filter(series__case=case).count() == 1


def test_unsafe_files_go_to_quarantine_with_a_reason_and_owner_only(author, raw):
    case = case_create(author=author)
    junk = raw("junk.dcm", data=b"\x00" * 10)
    outcome = files_ingest(case=case, paths=[junk])
    assert outcome.quarantined == 1 and not junk.exists()
    item = QuarantineItem.objects.get(case=case)
    assert "not a DICOM file" in item.reason
    quarantined = settings.QUARANTINE_ROOT / item.file
    assert quarantined.read_bytes() == b"\x00" * 10
    assert stat.S_IMODE(quarantined.stat().st_mode) == 0o600


def test_the_reidentification_key_is_stored_encrypted(author, raw):
    case = case_create(author=author)
    files_ingest(case=case, paths=[raw("a.dcm", dirty_ct(1))])
    key = ReidentificationKey.objects.get(case=case)
    assert PLANTED["PatientID"].encode() not in bytes(key.ciphertext)
    mapping = reid_decrypt(key.ciphertext)
    assert mapping["pseudonym"] == case.pseudonym
    assert mapping["patients"][0]["PatientID"] == PLANTED["PatientID"]
    instance = Instance.objects.get(series__case=case)
    assert instance.sop_instance_uid in mapping["uid_map"].values()


def test_only_an_admin_can_open_the_key_and_each_opening_is_audited(
    author, admin_user, raw, client
):
    from django.urls import reverse

    from cases.models import AuditEvent

    case = case_create(author=author)
    files_ingest(case=case, paths=[raw("a.dcm", dirty_ct(1))])
    key = ReidentificationKey.objects.get(case=case)
    url = reverse("admin:cases_reidentificationkey_change", args=[key.pk])
    client.force_login(author)
    assert client.get(url).status_code == 302  # not staff: sent to the admin login
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 200
    assert PLANTED["PatientID"] in response.content.decode()
    assert AuditEvent.objects.filter(action="reid.reveal", actor=admin_user, case=case).exists()


@pytest.mark.parametrize(
    ("age", "band"),
    [("076Y", "70-79"), ("090Y", "90+"), ("005Y", "0-9"), ("011M", "0-1"), ("", ""), ("7Y", "")],
)
def test_the_case_gets_a_decade_age_band_from_the_de_identified_age(age, band):
    from cases.ingest import age_band

    assert age_band(age) == band


def test_the_age_band_and_sex_come_from_the_de_identified_header(author, raw):
    case = case_create(author=author)
    files_ingest(case=case, paths=[raw("a.dcm", dirty_ct(1))])
    case.refresh_from_db()
    assert (case.patient_age_band, case.patient_sex) == ("70-79", "F")
