"""End to end on data the engine has never seen: planted identifiers never reach the library.

A study with identifiers burned into four kinds of image and names and codes in its
descriptors sits in a real Orthanc. The author pulls it (C-MOVE to our listener, first pass
in a real Celery worker), accepts every proposed box and confirms each image, clears every
flagged text value and accepts the rest, and publishes. The residual text gate stops the
CT whose header did not flag it; the author boxes where the gate points and publishes
again. Then no planted string may be found in any published byte, in the database, in what
the library serves, or legible in the published pixels.
"""

from __future__ import annotations

import io
import time

import pydicom
import pytesseract
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from anonymizer.pixels.detect import display_frame
from cases import freetext, review
from cases.editing import instance_edits_save
from cases.models import Case, FreeTextValue, Instance
from cases.publish import CHECKLIST, case_publish_request
from pacs_bridge import services
from pacs_bridge.dicom import scu
from pacs_bridge.models import PacsNode
from pacs_bridge.pull import node_for
from tests.conftest import require
from tests.integration import planted
from tests.peers import orthanc_available, run_orthanc
from tests.services import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def planted_orthanc(tmp_path_factory):
    require(orthanc_available(), "Orthanc (/usr/sbin/Orthanc)")
    files = planted.build(tmp_path_factory.mktemp("planted"))
    with run_orthanc(tmp_path_factory.mktemp("orthanc-planted")) as peer:
        assert peer.upload(files) == len(files)
        peer.register_modality(
            "teachfile", settings.DICOM_AE_TITLE, "127.0.0.1", settings.DICOM_LISTEN_PORT
        )
        yield peer


def _publish(case: Case, author) -> Case:
    case_publish_request(case=case, by=author, checklist=dict.fromkeys(CHECKLIST, True))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        case.refresh_from_db()
        if case.status != Case.Status.PUBLISHING:
            return case
        time.sleep(0.3)
    raise AssertionError("the publish did not finish")


def _box_where_the_gate_points(case: Case, author) -> int:
    boxed = 0
    for instance in Instance.objects.filter(series__case=case).exclude(gate_regions=[]):
        boxes = list(instance.blackouts or [])
        for region in instance.gate_regions:
            frames = "all" if region.get("frame") is None else [region["frame"]]
            boxes.append({**{k: region[k] for k in ("x", "y", "width", "height")},
                          "frames": frames})  # fmt: skip
            boxed += 1
        instance_edits_save(instance=instance, by=author, blackouts=boxes)
        review.instance_review_confirm(instance=Instance.objects.get(pk=instance.pk), by=author)
    return boxed


def _found(text: str) -> list[str]:
    upper = text.upper()
    return [p for p in planted.PLANTED if p.upper() in upper]


def test_planted_identifiers_reach_no_published_byte_database_row_or_library_page(
    celery_worker, listener, planted_orthanc, author, trainee
):
    node = PacsNode.objects.create(
        name="Orthanc", ae_title=planted_orthanc.aet, host="127.0.0.1",
        port=planted_orthanc.dicom_port,
    )  # fmt: skip
    series = scu.find_series(node_for(node), planted.STUDY_UID)
    job = wait_for(
        services.import_start(
            author=author, node=node, study_instance_uid=planted.STUDY_UID,
            series_instance_uids=[s.series_instance_uid for s in series],
        )
    )  # fmt: skip
    assert job.status == "done", job.message
    case = job.case
    Case.objects.filter(pk=case.pk).update(title="Hepatic cyst")

    # The careful author: every proposal accepted on every image, flagged text cleared.
    for one in case.series.all():
        review.series_review_confirm(series=one, by=author)
    flagged = 0
    for value in FreeTextValue.objects.filter(case=case):
        flagged += bool(value.findings)
        freetext.free_text_decide(
            value=value, by=author, action="clear" if value.findings else "accept"
        )
    assert flagged >= 2  # "Dr Hartmann" and "ZK47Q"

    case = _publish(case, author)
    # The CT's header did not flag it; the final check finds the name in its corner.
    assert case.status == Case.Status.DRAFT
    assert "text-like marks" in case.publish_error, case.publish_error
    assert _box_where_the_gate_points(case, author) >= 1
    case = _publish(case, author)
    assert case.status == Case.Status.PUBLISHED, case.publish_error

    instances = list(Instance.objects.filter(series__case=case))
    assert len(instances) == 4
    for instance in instances:
        data = (settings.PUBLISHED_ROOT / instance.published_file).read_bytes()
        assert not _found(data.decode("latin-1")), instance.published_file
        ds = pydicom.dcmread(io.BytesIO(data))
        frame = ds.pixel_array if int(ds.get("NumberOfFrames") or 1) == 1 else ds.pixel_array[0]
        shown = display_frame(frame, ds, str(ds.PhotometricInterpretation))
        read = pytesseract.image_to_string(shown, config="--psm 11")
        assert not _found(read), (instance.published_file, read)

    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    assert not _found(out.getvalue())

    client = Client()
    client.force_login(trainee)
    pages = [reverse("cases:library"), reverse("cases:case_detail", args=[case.pk])]
    pages += [reverse("cases:published_dicom", args=[case.pk, i.pk]) for i in instances]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response) if response.streaming else response.content
        assert not _found(body.decode("latin-1")), url
