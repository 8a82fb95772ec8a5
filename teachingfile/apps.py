from django.apps import AppConfig


class TeachingfileConfig(AppConfig):
    name = "teachingfile"
    verbose_name = "Teachingfile"

    def ready(self) -> None:
        from teachingfile import checks  # noqa: F401  (registers the startup checks)

        _sqlite_owner_only()


def _sqlite_owner_only() -> None:
    """A SQLite database file (the dev default) is owner-only: made 0600 before Django
    creates it, and narrowed if an older run left it readable. SQLite gives its journal
    and WAL files the database file's mode."""
    import contextlib
    from pathlib import Path

    from django.conf import settings

    from teachingfile.dev_secrets import owner_only_file

    database = settings.DATABASES["default"]
    name = str(database.get("NAME") or "")
    if not database["ENGINE"].endswith("sqlite3") or not name or name.startswith(":memory:"):
        return
    if name.startswith("file:"):  # a URI filename; leave it to SQLite
        return
    path = Path(name)
    if path.parent.is_dir():
        with contextlib.suppress(OSError):  # not ours: the database will say what is wrong
            owner_only_file(path)
