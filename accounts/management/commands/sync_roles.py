from django.core.management.base import BaseCommand

from accounts.services import roles_sync


class Command(BaseCommand):
    help = "Create or update the author, trainee and admin groups with their permissions."

    def handle(self, *args: object, **options: object) -> None:
        for role, group in roles_sync().items():
            self.stdout.write(f"{role.value}: {group.permissions.count()} permissions")
