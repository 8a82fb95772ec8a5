import threading

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from cases.models import Case, ImportJob
from pacs_bridge import pull, services
from pacs_bridge.models import PacsNode
from pacs_bridge.selectors import job_status


class Command(BaseCommand):
    help = (
        "Pull a study (or some of its series) from a PACS into a draft case, without the "
        "browser, and run the first pass in this process. Prints progress and the final "
        "counts.\n\nexample: manage.py pacs_pull --node 'Demo PACS' --study 1.2.3 "
        "--series 1.2.3.4 --author author"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--node", required=True, help="PACS node name")
        parser.add_argument("--study", required=True, help="Study Instance UID")
        parser.add_argument("--series", nargs="*", default=[], help="Series Instance UIDs")
        parser.add_argument("--author", required=True, help="username of the author")
        parser.add_argument("--case", type=int, help="an existing draft case (default: new)")

    def handle(self, *args: object, **options: object) -> None:
        try:
            node = PacsNode.objects.get(name=options["node"])
            author = get_user_model().objects.get(username=options["author"])
        except (PacsNode.DoesNotExist, get_user_model().DoesNotExist) as exc:
            raise CommandError(str(exc)) from None
        if not author.has_perm("cases.author_case"):
            raise CommandError(f"{author} is not an author")
        case = None
        if options["case"]:
            case = Case.objects.filter(pk=options["case"], author=author).first()
            if case is None:
                raise CommandError(f"case {options['case']} is not a case of {author}")
        job = services.import_start(
            author=author,
            node=node,
            study_instance_uid=str(options["study"]),
            series_instance_uids=list(options["series"]),  # type: ignore[call-overload]
            case=case,
            enqueue=False,
        )
        self.stdout.write(f"import {job.pk} into case {job.case_id}")
        done = threading.Event()
        reporter = threading.Thread(target=self._report, args=(job.pk, done), daemon=True)
        reporter.start()
        try:
            pull.pull_run(job.pk, dispatch=pull.batch_run)
        finally:
            done.set()
            reporter.join()
        status = job_status(ImportJob.objects.get(pk=job.pk))
        self.stdout.write(
            f"{status['status_display']}: {status['received']} received, "
            f"{status['processed']} de-identified, {status['quarantined']} quarantined, "
            f"{status['missing']} missing. {status['message']}".rstrip()
        )
        if status["status"] == ImportJob.Status.FAILED:
            raise CommandError(status["message"])

    def _report(self, job_id: int, done: threading.Event) -> None:
        last = None
        while not done.wait(1.0):
            s = job_status(ImportJob.objects.get(pk=job_id))
            line = (f"  {s['status_display']}: {s['completed']}/{s['expected'] or '?'} retrieved, "
                    f"{s['processed']} de-identified")  # fmt: skip
            if line != last:
                self.stdout.write(line)
                last = line
        connection.close()  # this thread's own connection
