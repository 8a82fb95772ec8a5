"""What the load test needs in the database before it starts, made through the app's own
services (Django must be set up): the role groups, the trainees and the author, and a few
published cases made by the real pipeline — pulled from the demo PACS by the Celery
worker through our listener, first pass, review, write-up, second pass and verifier.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User

from accounts.roles import Role
from accounts.services import roles_sync, user_assign_role
from cases import freetext, review, services
from cases.forms import CaseWriteUpForm
from cases.models import Case, FreeTextValue, ImportJob
from cases.publish import CHECKLIST, case_publish_request
from pacs_bridge import services as pacs_services
from pacs_bridge.dicom import scu
from pacs_bridge.models import PacsNode
from pacs_bridge.pull import node_for


@dataclass(frozen=True)
class SeedCase:
    patient_id: str
    write_up: dict[str, str]


# Cycled through for as many cases as asked; the words are what the trainees search for.
SEED_CASES = (
    SeedCase("DEMO-0001", {
        "title": "Chest CT: solitary pulmonary nodule", "diagnosis": "Solitary pulmonary nodule",
        "findings": "A well-defined nodule in the right upper lobe.", "modality": "CT",
        "body_region": "Chest", "keywords": "chest lung nodule", "difficulty": "student",
    }),
    SeedCase("DEMO-0002", {
        "title": "Brain MR: normal study", "diagnosis": "No abnormality",
        "findings": "Normal grey and white matter signal.", "modality": "MR",
        "body_region": "Brain", "keywords": "brain normal", "difficulty": "student",
    }),
    SeedCase("DEMO-0001", {
        "title": "Chest CT: anterior mediastinal mass", "diagnosis": "Thymoma",
        "findings": "A lobulated anterior mediastinal mass.", "modality": "CT",
        "body_region": "Chest", "keywords": "chest mediastinum mass", "difficulty": "resident",
    }),
    SeedCase("DEMO-0002", {
        "title": "Brain MR: small vessel disease", "diagnosis": "Chronic small vessel disease",
        "findings": "Scattered white matter hyperintensities on T2.", "modality": "MR",
        "body_region": "Brain", "keywords": "brain white matter vessel", "difficulty": "resident",
    }),
)  # fmt: skip
SEARCH_WORDS = ("chest", "brain", "nodule", "mass", "lung", "vessel", "normal", "fracture", "liver")


def accounts_create(*, trainees: int, prefix: str, password: str, author: str) -> None:
    """The role groups, ``trainees`` trainees ``<prefix>01``… and one author, all with
    ``password`` (hashed once: PBKDF2 costs a good half second a time)."""
    roles_sync()
    hashed = make_password(password)
    for number in range(1, trainees + 1):
        user = User.objects.create(username=f"{prefix}{number:02d}", password=hashed)
        user_assign_role(user=user, role=Role.TRAINEE)
    user = User.objects.create(username=author, password=hashed)
    user_assign_role(user=user, role=Role.AUTHOR)


def _wait(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not finish in {timeout:.0f} s")


def _pull(
    *, user: User, node: PacsNode, study: str, series: list[str], timeout: float
) -> ImportJob:
    """One import, waited for; retried (a new import) up to twice if it ends badly."""
    ended = (ImportJob.Status.DONE, ImportJob.Status.INCOMPLETE, ImportJob.Status.FAILED)
    for _ in range(3):
        job = pacs_services.import_start(
            author=user, node=node, study_instance_uid=study, series_instance_uids=series
        )
        _wait(
            lambda job=job: ImportJob.objects.filter(pk=job.pk, status__in=ended).exists(),
            f"seed import {job.pk}",
            timeout,
        )
        job.refresh_from_db()
        if job.status == ImportJob.Status.DONE:
            return job
        print(f"  seed import {job.pk} ended {job.status}: {job.message} (trying again)")
    raise RuntimeError(f"seed import {job.pk} ended {job.status}: {job.message}")


def cases_publish(*, author: str, count: int, timeout: float = 600) -> list[int]:
    """Pull (one at a time: two imports of one study at once share the listener's spool
    files) and publish ``count`` cases through the worker; their ids."""
    user = User.objects.get(username=author)
    node = PacsNode.objects.get(name="Demo PACS")
    pacs = node_for(node)
    studies = {
        s.patient_id: s.study_instance_uid
        for s in scu.find_studies(pacs, scu.StudyQuery(patient_id="DEMO-*"))
    }
    ids = []
    for seed in (SEED_CASES[i % len(SEED_CASES)] for i in range(count)):
        study = studies[seed.patient_id]
        series = [s.series_instance_uid for s in scu.find_series(pacs, study)]
        case = _pull(user=user, node=node, study=study, series=series, timeout=timeout).case
        for series_row in case.series.all():
            review.series_review_confirm(series=series_row, by=user)
        for value in FreeTextValue.objects.filter(case=case, status=FreeTextValue.Status.PENDING):
            freetext.free_text_decide(value=value, by=user, action="accept")
        form = CaseWriteUpForm(data=seed.write_up, instance=case)
        if not form.is_valid():
            raise RuntimeError(f"seed write-up refused: {form.errors.as_text()}")
        services.case_write_up_save(form=form, by=user)
        case_publish_request(case=case, by=user, checklist=dict.fromkeys(CHECKLIST, True))
        ids.append(case.pk)
    _wait(
        lambda: not Case.objects.filter(pk__in=ids, status=Case.Status.PUBLISHING).exists(),
        "publishing the seed cases",
        timeout,
    )
    for case in Case.objects.filter(pk__in=ids).exclude(status=Case.Status.PUBLISHED):
        raise RuntimeError(f"seed case {case.pk} was not published: {case.publish_error}")
    return ids
