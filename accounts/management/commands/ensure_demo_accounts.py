from django.core.management.base import BaseCommand

from accounts.services import demo_accounts_ensure


class Command(BaseCommand):
    help = "Create the role groups and the demo accounts (author, trainee, admin). Idempotent."

    def handle(self, *args: object, **options: object) -> None:
        for account in demo_accounts_ensure():
            self.stdout.write(f"  {account.role.value:8} {account.username} / {account.password}")
