"""The demo PACS on loopback and its node, for the PACS pages' tests."""

import socket

import pytest

from pacs_bridge.dicom.demo_pacs import serve_demo_pacs
from pacs_bridge.dicom.sample_data import build_demo_studies
from pacs_bridge.models import PacsNode


@pytest.fixture(scope="module")
def demo_port(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    build_demo_studies(folder, ct_slices=4, mr_slices=2, cine_frames=2, size=64)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = serve_demo_pacs(
        folder, ae_title="DEMOPACS", host="127.0.0.1", port=port, destinations={}, block=False
    )
    yield port
    server.shutdown()


@pytest.fixture
def node(demo_port):
    return PacsNode.objects.create(
        name="Demo", ae_title="DEMOPACS", host="127.0.0.1", port=demo_port
    )
