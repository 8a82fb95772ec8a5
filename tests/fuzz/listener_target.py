"""Fuzz target: our DICOM listener against hostile peers (run by ``test_fuzz`` in a child).

Two kinds of peer: one that writes arbitrary PDUs (any type, any declared length, any
body, cut off anywhere) straight to the socket, and one that associates properly and
stores damaged data sets. After each, a well-behaved peer must still get its C-ECHO
answered; every C-STORE gets a status from the listener's own list. The listener runs
in a process of its own (``python -m pacs_bridge.dicom.listener``) under the same
address-space limit as this one, and its own peak memory is checked at the end.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification

from pacs_bridge.dicom.contexts import VERIFICATION
from tests.anonymizer.dirty import PLANTED_UIDS
from tests.fuzz.mutations import damaged_files, fuzz

HOST, LISTENER, SENDER = "127.0.0.1", "TEACHFILE", "FUZZER"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "120"))
PEAK_RSS_MB = 700
# Statuses the listener answers a C-STORE with (listener.py, policy.py).
STORE_STATUSES = {0x0000, 0xB007, 0xA700, 0xC000, 0x0124}


def _associate_rq() -> bytes:
    """A well-formed A-ASSOCIATE-RQ PDU proposing Verification, as a peer would send."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = SENDER
    primitive.called_ae_title = LISTENER
    ctx = VERIFICATION
    ctx.context_id = 1
    primitive.presentation_context_definition_list = [ctx]
    length = MaximumLengthNotification()
    length.maximum_length_received = 16384
    primitive.user_information = [length]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return pdu.encode()


ASSOCIATE_RQ = _associate_rq()

pdu = st.builds(
    lambda kind, length, body: bytes([kind, 0]) + struct.pack(">I", length) + body,
    st.sampled_from([1, 2, 3, 4, 5, 6, 7, 0, 8, 255]),
    st.one_of(st.integers(0, 300), st.sampled_from([0x7FFFFFFF, 0xFFFFFFFF, 1 << 24])),
    st.binary(max_size=300),
)
streams = st.one_of(
    st.lists(pdu, min_size=1, max_size=4).map(b"".join),
    st.builds(lambda rest: ASSOCIATE_RQ + rest, st.lists(pdu, max_size=3).map(b"".join)),
    st.builds(lambda cut: ASSOCIATE_RQ[:cut], st.integers(0, len(ASSOCIATE_RQ))),
    st.binary(max_size=600),
)


class Listener:
    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.port = _free_port()
        study = PLANTED_UIDS["StudyInstanceUID"]
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "pacs_bridge.dicom.listener", "--ae-title", LISTENER,
                "--port", str(self.port), "--spool", str(Path(self.tmp.name) / "spool"),
                "--allow-peer", f"{SENDER}@{HOST}", "--allow-study", f"{SENDER}:{study}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.ae = AE(SENDER)
        self.ae.acse_timeout = self.ae.dimse_timeout = self.ae.network_timeout = 10
        for sop_class in ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.3.1"):
            self.ae.add_requested_context(
                sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
            )
        self.ae.add_requested_context(VERIFICATION)

    def still_answers(self) -> None:
        """A proper peer gets its echo answered (retrying while closed peers wind down)."""
        for _ in range(50):
            assoc = self.ae.associate(HOST, self.port, ae_title=LISTENER)
            if assoc.is_established:
                status = assoc.send_c_echo()
                assoc.release()
                assert status and status.Status == 0
                return
            time.sleep(0.1)
        raise AssertionError("the listener stopped answering a well-behaved peer")

    def peak_mb(self) -> int:
        """The listener process's peak resident memory (VmHWM), in MB."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        [line] = [row for row in status.splitlines() if row.startswith("VmHWM:")]
        return int(line.split()[1]) // 1024

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.tmp.cleanup()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


LISTENER_UNDER_TEST: Listener


@fuzz(EXAMPLES)
@given(streams)
def raw_pdus_never_take_the_listener_down(stream: bytes) -> None:
    with socket.create_connection((HOST, LISTENER_UNDER_TEST.port), timeout=2) as peer:
        try:
            peer.sendall(stream)
            peer.shutdown(socket.SHUT_WR)
            while peer.recv(65536):  # what the listener answers, until it closes
                pass
        except OSError:
            pass  # reset by the listener: an answer too
    LISTENER_UNDER_TEST.still_answers()


@fuzz(max(EXAMPLES // 3, 10))
@given(damaged_files)
def damaged_data_sets_get_a_status(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.dcm"
        path.write_bytes(data)
        assoc = LISTENER_UNDER_TEST.ae.associate(HOST, LISTENER_UNDER_TEST.port, ae_title=LISTENER)
        assert assoc.is_established
        try:
            status = assoc.send_c_store(path)
        except Exception:  # the sender could not even encode it
            status = None
        finally:
            if assoc.is_established:
                assoc.release()
        if status is not None and "Status" in status:
            assert int(status.Status) in STORE_STATUSES, hex(int(status.Status))
    LISTENER_UNDER_TEST.still_answers()


if __name__ == "__main__":
    _config.LOG_HANDLER_LEVEL = "none"
    LISTENER_UNDER_TEST = Listener()
    try:
        LISTENER_UNDER_TEST.still_answers()  # up and listening
        raw_pdus_never_take_the_listener_down()
        damaged_data_sets_get_a_status()
        assert LISTENER_UNDER_TEST.process.poll() is None, "the listener process died"
        peak = LISTENER_UNDER_TEST.peak_mb()
    finally:
        LISTENER_UNDER_TEST.close()
    assert peak < PEAK_RSS_MB, f"the listener's peak memory was {peak} MB"
    print(f"listener: hostile PDUs and damaged data sets, still answering, peak {peak} MB")
    sys.exit(0)
