from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: object) -> None:
    from accounts.services import roles_sync

    roles_sync(using=str(kwargs.get("using", "default")))


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        # The role groups exist in every database after migrate, demo accounts or not.
        # post_migrate is only sent for apps with models: hang it on the one that has the
        # role permissions.
        post_migrate.connect(
            _sync_roles, sender=apps.get_app_config("cases"), dispatch_uid="accounts.sync_roles"
        )
