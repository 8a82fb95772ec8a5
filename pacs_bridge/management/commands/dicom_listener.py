from django.conf import settings
from django.core.management.base import BaseCommand

from pacs_bridge.dicom.listener import serve
from pacs_bridge.pull import spool


class Command(BaseCommand):
    help = (
        "Run our DICOM Storage SCP: files sent by a PACS (C-MOVE) land in the raw incoming "
        "store, owner-only, until an import job claims them. Never de-identifies inline."
    )

    def handle(self, *args: object, **options: object) -> None:
        incoming = spool()
        dropped = incoming.discard_older_than(24 * 3600)  # unsolicited left-overs
        self.stdout.write(
            f"DICOM listener {settings.DICOM_AE_TITLE} on "
            f"{settings.DICOM_LISTEN_HOST}:{settings.DICOM_LISTEN_PORT}"
            + (f" (discarded {dropped} unclaimed files older than a day)" if dropped else "")
        )
        serve(
            settings.DICOM_AE_TITLE,
            settings.DICOM_LISTEN_HOST,
            settings.DICOM_LISTEN_PORT,
            incoming,
            block=True,
        )
