from django.core.management.base import BaseCommand, CommandParser

from cases.recheck import published_cases_recheck


class Command(BaseCommand):
    help = (
        "Run today's final check (verifier, residual text gate, free-text gate) over every "
        "published case and withdraw, with an audit event and a message to its author, any "
        "case whose images no longer pass. --dry-run only reports."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="report, withdraw nothing")

    def handle(self, *args: object, **options: object) -> None:
        outcomes = published_cases_recheck(withdraw=not options["dry_run"])
        for outcome in outcomes:
            if outcome.passed:
                self.stdout.write(f"case {outcome.case_id}: {outcome.checked} images pass")
                continue
            state = "withdrawn" if outcome.withdrawn else "would be withdrawn"
            self.stdout.write(
                f"case {outcome.case_id}: {len(outcome.failures)} of {outcome.checked} images "
                f"fail ({state}); first reason: {outcome.failures[0][1][0]}"
            )
        failed = sum(not o.passed for o in outcomes)
        self.stdout.write(f"{len(outcomes)} published cases checked, {failed} failing.")
