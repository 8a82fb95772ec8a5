"""``manage.py dicom_listener`` serves until SIGTERM, then stops cleanly: no empty
temporary file is left in ``spool/.partial``."""

from __future__ import annotations

import io
import os
import signal
import socket
import threading
import time
from pathlib import Path

from django.core.management import call_command
from pynetdicom import AE

from pacs_bridge.dicom import listener
from pacs_bridge.dicom.contexts import VERIFICATION
from tests.peers import free_port


def test_the_listener_command_stops_on_sigterm_and_leaves_no_temporary_file(
    settings, tmp_path: Path
) -> None:
    settings.INCOMING_ROOT = tmp_path / "incoming"
    settings.DICOM_LISTEN_PORT = port = free_port()
    partial = tmp_path / "incoming" / "spool" / ".partial"
    answered: list[int] = []

    def use_then_stop() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        while len(list(partial.glob("rx-*.dcm"))) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)  # the pool has made files ahead of need
        ae = AE("TEACHFILE")
        ae.add_requested_context(VERIFICATION)
        assoc = ae.associate("127.0.0.1", port, ae_title=settings.DICOM_AE_TITLE)
        answered.append(int(assoc.send_c_echo().Status))
        assoc.release()
        os.kill(os.getpid(), signal.SIGTERM)

    helper = threading.Thread(target=use_then_stop)
    helper.start()
    out = io.StringIO()
    try:
        call_command("dicom_listener", stdout=out)
    finally:
        helper.join()
        listener.enable_chunked_receive(tmp_path / "elsewhere")  # what other tests expect
    assert answered == [0]
    assert f"on 127.0.0.1:{port}" in out.getvalue()
    assert list(partial.iterdir()) == []
