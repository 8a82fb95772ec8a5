"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teachingfile.settings")

app = Celery("teachingfile")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The sweeper's periodic task (beat schedule: CELERY_BEAT_SCHEDULE in settings).
app.autodiscover_tasks(["teachingfile"], related_name="sweeper")


@worker_init.connect
def _refuse_to_start_misconfigured(**_: object) -> None:
    from teachingfile.checks import exit_if_misconfigured

    exit_if_misconfigured()
