"""A pull task delivered again (its worker died) picks up where the job stands."""

import pytest

from cases.models import ImportJob
from cases.services import case_create
from pacs_bridge import pull
from pacs_bridge.models import PacsNode

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(author):
    node = PacsNode.objects.create(name="N", ae_title="N", host="127.0.0.1", port=1)
    return ImportJob.objects.create(
        case=case_create(author=author), author=author, source="pacs", pacs_node=node,
        status=ImportJob.Status.PROCESSING, request={"study": "1.2.3", "series": ["1.2.3.4"]},
    )  # fmt: skip


def test_a_redelivered_pull_hands_over_the_files_still_waiting(job):
    folder = pull.job_dir(job.pk)
    for name in ("a", "b"):
        (folder / f"{name * 32}.dcm").write_bytes(b"x")
    batches = []
    pull.pull_run(job.pk, dispatch=lambda job_id, paths: batches.append(paths))
    assert [len(b) for b in batches] == [2]
    assert all(p.startswith(f"jobs/{job.pk}/") for p in batches[0])


def test_a_redelivered_pull_with_nothing_waiting_closes_the_job(job):
    pull.pull_run(job.pk, dispatch=lambda *a: pytest.fail("nothing to dispatch"))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert job.request == {}


def test_a_finished_job_is_left_alone(job):
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED, message="x")
    pull.pull_run(job.pk, dispatch=lambda *a: pytest.fail("nothing to dispatch"))
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportJob.Status.FAILED, "x")


def test_a_retry_needs_the_pacs_node_and_a_draft_case(job, author):
    from cases.models import Case
    from pacs_bridge.services import import_retry

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
    Case.objects.filter(pk=job.case_id).update(status=Case.Status.PUBLISHED)
    job.refresh_from_db()
    with pytest.raises(ValueError, match="no longer a draft"):
        import_retry(job=job, by=author)
    job.pacs_node.delete()
    job.refresh_from_db()
    with pytest.raises(ValueError, match="no longer exists"):
        import_retry(job=job, by=author)
