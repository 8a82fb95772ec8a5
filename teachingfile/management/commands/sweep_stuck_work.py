"""`manage.py sweep_stuck_work`: one pass of the sweeper (teachingfile/sweeper.py).

Celery beat runs the same pass every SWEEP_EVERY_SECONDS; this command is for cron
(deployments without beat) and for operators. Queued work goes to the broker as usual.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from teachingfile.sweeper import sweep


class Command(BaseCommand):
    help = (
        "Re-run or end import jobs and publishes whose worker stopped or whose message "
        "was lost, and delete their left-over files."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = sweep()
        self.stdout.write(report.summary())
        if report.errors:  # a non-zero exit, for cron to report
            raise CommandError("Some work could not be handled; see the log.")
