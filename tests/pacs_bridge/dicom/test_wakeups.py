"""The tuned reactor waits (``listener._wait_for_message``) wake the association thread
when a message arrives, and never take a wake-up that a thread blocked in ``get`` needs.

The load test's stall: a demo PACS sending a C-MOVE sub-operation (``send_c_store``
from the C-MOVE thread) waited 30 s for a C-STORE-RSP that was already in its
association's message queue. The association thread, which should have been paused,
was waiting on the same queue's ``not_empty`` condition (pynetdicom let the sender go
on a stale ``_is_paused``), and ``Queue.put`` wakes one waiter only: it woke that one.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom import association as association_module

from pacs_bridge.dicom import listener
from tests.pacs_bridge.dicom.conftest import HOST, LISTENER_AET, RunningListener


def _waiters(messages: queue.Queue[Any]) -> int:
    return len(messages.not_empty._waiters)  # type: ignore[attr-defined]


def _until(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _association_thread(messages: queue.Queue[Any]) -> Any:
    """What ``_wait_for_message`` uses of an ``Association``: ``dimse.msg_queue``."""
    return SimpleNamespace(dimse=SimpleNamespace(msg_queue=messages))


def test_a_wake_up_meant_for_a_waiting_get_is_passed_on() -> None:
    messages: queue.Queue[str] = queue.Queue()
    reactor_done = threading.Event()

    def reactor() -> None:  # the association thread, waiting first
        listener._wait_for_message(_association_thread(messages), 10)
        reactor_done.set()

    threading.Thread(target=reactor, daemon=True).start()
    _until(lambda: _waiters(messages) == 1)
    received: list[str] = []
    getter = threading.Thread(  # the sender, waiting for its response
        target=lambda: received.append(messages.get(timeout=10)), daemon=True
    )
    getter.start()
    _until(lambda: _waiters(messages) == 2)
    try:
        messages.put("C-STORE-RSP")  # wakes the first waiter only: the reactor
        getter.join(2)
        assert received == ["C-STORE-RSP"], "the response stayed in the queue"
        assert reactor_done.wait(2)
    finally:
        if getter.is_alive():
            messages.put("unblock")


def test_the_association_thread_wakes_when_a_message_arrives_and_leaves_it() -> None:
    messages: queue.Queue[str] = queue.Queue()
    took: list[float] = []

    def reactor() -> None:
        start = time.monotonic()
        listener._wait_for_message(_association_thread(messages), 10)
        took.append(time.monotonic() - start)

    thread = threading.Thread(target=reactor, daemon=True)
    thread.start()
    _until(lambda: _waiters(messages) == 1)
    messages.put("C-STORE-RQ")
    thread.join(2)
    assert took and took[0] < 2
    assert messages.get_nowait() == "C-STORE-RQ"  # for the reactor's own get_msg
    start = time.monotonic()
    assert listener._wait_for_message(_association_thread(messages), 0.05)
    assert time.monotonic() - start >= 0.04  # nothing came: it slept as asked


def _dataset() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = np.zeros((8, 8), np.uint8).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


@pytest.fixture
def slow_reactor(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The association thread of ``slow["assoc"]`` waits 10 s per loop instead of
    1 ms, so that it is surely waiting on its message queue when the response comes."""
    slow: dict[str, Any] = {"waiting": threading.Event()}

    def wait(thread: Any, seconds: float) -> bool:
        if thread is not slow.get("assoc"):
            return listener._wait_for_message(thread, seconds)
        slow["waiting"].set()
        return listener._wait_for_message(thread, 10)

    listener.tune_pynetdicom()
    monkeypatch.setattr(association_module, "time", listener._WakingTime(wait))
    yield slow
    assoc = slow.pop("assoc", None)
    if assoc is not None:  # wake it from its long wait, then let it go
        with assoc.dimse.msg_queue.not_empty:
            assoc.dimse.msg_queue.not_empty.notify_all()
        assoc.release()


def test_a_response_reaches_the_sender_while_the_association_thread_waits(
    our_listener: RunningListener, slow_reactor: dict[str, Any]
) -> None:
    ae = AE("SENDER")
    ae.acse_timeout = 10
    ae.dimse_timeout = 3
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate(HOST, our_listener.port, ae_title=LISTENER_AET)
    assert assoc.is_established
    slow_reactor["assoc"] = assoc
    assert slow_reactor["waiting"].wait(5)  # the association thread is in its long wait:
    _until(lambda: _waiters(assoc.dimse.msg_queue) == 1)  # nothing else changes the flag
    # What pynetdicom's pause leaves when a send follows the previous response before
    # the association thread has run: the flag still says "paused", the thread is not.
    assoc._is_paused = True
    start = time.monotonic()
    status = assoc.send_c_store(_dataset())
    took = time.monotonic() - start
    # Lost, the wake-up leaves the response in the queue until the sender's DIMSE
    # timeout (3 s here, 30 s for the demo PACS): only then does it look again.
    assert took < 2, "the response waited in the queue for the DIMSE timeout"
    assert getattr(status, "Status", None) == 0x0000
    assert len(our_listener.stored) == 1
