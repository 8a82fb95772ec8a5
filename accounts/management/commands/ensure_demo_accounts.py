from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.services import demo_accounts_ensure


class Command(BaseCommand):
    help = (
        "Create the role groups and the demo accounts (author, trainee, admin). Idempotent. "
        "Development mode only (TEACHINGFILE_DEV=1): their passwords are public."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.DEV:
            raise CommandError(
                "Demo accounts have published passwords, so they are only made in development "
                "mode (TEACHINGFILE_DEV=1, as `make run` sets). In production create real "
                "accounts: `manage.py createsuperuser`, then add users and their roles on the "
                "admin pages."
            )
        for account in demo_accounts_ensure():
            self.stdout.write(f"  {account.role.value:8} {account.username} / {account.password}")
