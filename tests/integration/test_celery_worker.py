import pytest

from teachingfile.tasks import worker_health

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_task_runs_in_the_worker_process_and_its_result_comes_back(celery_worker):
    result = worker_health.delay().get(timeout=30)
    assert result["database"] == {"ok": True, "vendor": "postgresql"}
    assert result["storage"]["ok"] is True
