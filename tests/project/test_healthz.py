import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_storage_as_green_json(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert report["database"] == {"ok": True, "vendor": "postgresql"}
    assert report["broker"]["ok"] is True
    assert report["broker"]["transport"] == "redis"
    assert set(report["storage"]["roots"]) == {"incoming", "quarantine", "working", "published"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, settings):
    from teachingfile.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    try:
        response = client.get(reverse("healthz"))
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False
