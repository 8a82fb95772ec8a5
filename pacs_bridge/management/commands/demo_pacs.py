from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from pacs_bridge.dicom.demo_pacs import serve_demo_pacs
from pacs_bridge.dicom.sample_data import build_demo_studies
from pacs_bridge.models import PacsNode


class Command(BaseCommand):
    help = (
        "Run the built-in demo PACS (C-ECHO, C-FIND, C-MOVE, C-GET) over synthetic sample "
        "studies with invented patients, and register it as the PACS node 'Demo PACS'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=11113)
        parser.add_argument("--ae-title", default="DEMOPACS")
        parser.add_argument("--folder", type=Path, default=None)

    def handle(self, *args: object, **options: object) -> None:
        folder = options["folder"] or Path(settings.VAR_DIR) / "demo-pacs"
        files = build_demo_studies(folder)
        PacsNode.objects.update_or_create(
            name="Demo PACS",
            defaults={
                "ae_title": options["ae_title"],
                "host": options["host"],
                "port": options["port"],
                "calling_ae_title": settings.DICOM_AE_TITLE,
            },
        )
        listener = (settings.DICOM_LISTEN_HOST, settings.DICOM_LISTEN_PORT)
        if listener[0] == "0.0.0.0":
            listener = ("127.0.0.1", listener[1])
        self.stdout.write(
            f"Demo PACS {options['ae_title']} on {options['host']}:{options['port']} "
            f"serving {len(files)} files from {folder}"
        )
        serve_demo_pacs(
            folder,
            ae_title=str(options["ae_title"]),
            host=str(options["host"]),
            port=int(options["port"]),  # type: ignore[call-overload]
            destinations={settings.DICOM_AE_TITLE: listener},
            block=True,
        )
