import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from pacs_bridge.admission import listener_admission
from pacs_bridge.dicom.listener import Limits, ListenerStats, disable_chunked_receive, serve
from pacs_bridge.pull import SPOOL_MAX_AGE_SECONDS, spool

log = logging.getLogger("pacs_bridge.dicom.listener")


class Command(BaseCommand):
    help = (
        "Run our DICOM Storage SCP: files sent by a PACS (C-MOVE) land in the raw incoming "
        "store, owner-only, until an import job claims them. Only configured PACS nodes may "
        "connect, and only instances an import is retrieving are kept (ADR 0006). Never "
        "de-identifies inline."
    )

    def handle(self, *args: object, **options: object) -> None:
        incoming = spool()
        dropped = incoming.discard_older_than(SPOOL_MAX_AGE_SECONDS)  # left-overs of a crash
        limits = Limits(
            max_associations=settings.DICOM_MAX_ASSOCIATIONS,
            max_bytes_in_flight=settings.DICOM_MAX_BYTES_IN_FLIGHT,
        )
        self.stdout.write(
            f"DICOM listener {settings.DICOM_AE_TITLE} on "
            f"{settings.DICOM_LISTEN_HOST}:{settings.DICOM_LISTEN_PORT}, at most "
            f"{limits.max_associations} associations"
            + (f" (discarded {dropped} unclaimed files older than a day)" if dropped else "")
        )
        stats = ListenerStats()
        server = serve(
            settings.DICOM_AE_TITLE,
            settings.DICOM_LISTEN_HOST,
            settings.DICOM_LISTEN_PORT,
            incoming,
            block=False,
            admission=listener_admission(),
            limits=limits,
            stats=stats,
        )
        assert server is not None
        stop = threading.Event()
        previous = {
            signum: signal.signal(signum, lambda *_: stop.set())
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop.wait(1):
                pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            server.shutdown()
            disable_chunked_receive()  # removes the pool's empty files from spool/.partial
            refused = stats.refused()
            if refused:
                log.warning("listener stopped; %d instances or associations refused", refused)
