from django.apps import AppConfig


class PacsBridgeConfig(AppConfig):
    name = "pacs_bridge"
    verbose_name = "PACS bridge"

    def ready(self) -> None:
        from pacs_bridge import checks  # noqa: F401  (registers the startup checks)
