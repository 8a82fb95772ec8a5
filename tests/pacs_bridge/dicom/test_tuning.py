"""The run-time tuning of pynetdicom is contained in ``listener.tune_pynetdicom``: each
patch is applied on the pinned pynetdicom, and the off switch leaves pynetdicom alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pynetdicom
from pynetdicom import association, dimse_messages, dul
from pynetdicom.transport import AssociationSocket

from pacs_bridge.dicom import listener

_ALL = ["association.time", "dul.time", "AssociationSocket.recv", "dimse_messages.file_meta"]


def test_every_patch_applies_to_the_pinned_pynetdicom() -> None:
    assert pynetdicom.__version__.startswith("3.0."), "re-measure the tuning (bench/pull_bench)"
    assert listener.tune_pynetdicom() == _ALL
    assert isinstance(association.time, listener._WakingTime)
    assert isinstance(dul.time, listener._WakingTime)
    assert AssociationSocket.recv is listener._recv_into
    assert dimse_messages.create_file_meta is listener._fast_create_file_meta
    assert dimse_messages.write_file_meta_info is listener._fast_write_file_meta_info


_WITH_SWITCH_OFF = """
import json
from pynetdicom import association, dimse_messages, dul
from pynetdicom.transport import AssociationSocket
recv, time_module = AssociationSocket.recv, association.time
from pacs_bridge.dicom import listener
applied = listener.tune_pynetdicom()
print(json.dumps({
    "applied": applied,
    "untouched": AssociationSocket.recv is recv and association.time is time_module
    and dul.time is time_module,
}))
"""


def test_the_off_switch_leaves_pynetdicom_as_it_is() -> None:
    env = {**os.environ, "TEACHINGFILE_PYNETDICOM_TUNING": "0"}
    out = subprocess.run(
        [sys.executable, "-c", _WITH_SWITCH_OFF], env=env, capture_output=True, check=True
    )
    assert json.loads(out.stdout) == {"applied": [], "untouched": True}
