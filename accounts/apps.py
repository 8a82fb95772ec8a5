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
        _connect_sign_in_audit()


def _connect_sign_in_audit() -> None:
    """Every sign-in, failure, lock-out and sign-out goes to the audit log."""
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

    from accounts import signals

    user_login_failed.connect(signals.on_login_failed, dispatch_uid="accounts.audit_failed")
    user_logged_in.connect(signals.on_logged_in, dispatch_uid="accounts.audit_logged_in")
    user_logged_out.connect(signals.on_logged_out, dispatch_uid="accounts.audit_logged_out")
    user_locked_out.connect(signals.on_locked_out, dispatch_uid="accounts.audit_locked_out")
