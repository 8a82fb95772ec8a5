"""Real DICOM peers for tests and benchmarks: Orthanc and dcmtk's dcmqrscp.

Each starts on free loopback ports in a temporary folder, with ``TCP_NODELAY=1`` (Debian's
dcmtk keeps Nagle's algorithm on otherwise: about 45 ms per file), and is torn down
with SIGKILL (Orthanc takes 4-5 s to honour SIGTERM, and a test run has no data to
keep). Plain context managers, so that ``bench/`` can use them too; the pytest
fixtures live in ``tests/pacs_bridge/dicom/conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DCMQRSCP = shutil.which("dcmqrscp") or "/usr/bin/dcmqrscp"
STORESCU = shutil.which("storescu") or "/usr/bin/storescu"


def orthanc_available() -> bool:
    return os.access(ORTHANC, os.X_OK)


def dcmtk_available() -> bool:
    return all(shutil.which(tool) for tool in ("dcmqrscp", "storescu", "movescu", "storescp"))


def free_port() -> int:
    """A port nothing listens on now (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peer_env() -> dict[str, str]:
    return {**os.environ, "TCP_NODELAY": "1"}


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the process exited with status {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


# -- Orthanc ---------------------------------------------------------------------------
@dataclass
class OrthancPeer:
    aet: str
    dicom_port: int
    http_port: int
    folder: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def request(self, method: str, path: str, body: bytes | None = None) -> object:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/octet-stream")
        with urllib.request.urlopen(req, timeout=60) as response:
            data = response.read()
        return json.loads(data) if data else None

    def upload(self, paths: Iterable[Path]) -> int:
        """POST each file to /instances; return how many Orthanc accepted."""
        count = 0
        for path in paths:
            answer = self.request("POST", "/instances", Path(path).read_bytes())
            if isinstance(answer, dict) and answer.get("Status") in ("Success", "AlreadyStored"):
                count += 1
        return count

    def register_modality(self, name: str, aet: str, host: str, port: int) -> None:
        body = json.dumps({"AET": aet, "Host": host, "Port": port}).encode()
        self.request("PUT", f"/modalities/{name}", body)

    def remove_modality(self, name: str) -> None:
        with contextlib.suppress(urllib.error.HTTPError):
            self.request("DELETE", f"/modalities/{name}")


@contextlib.contextmanager
def run_orthanc(folder: Path, *, aet: str = "ORTHANC") -> Iterator[OrthancPeer]:
    """Orthanc with auth off, loopback only, every DICOM request allowed, no plugins."""
    folder.mkdir(parents=True, exist_ok=True)
    dicom_port, http_port = free_port(), free_port()
    config = {
        "Name": "TEST",
        "StorageDirectory": str(folder / "db"),
        "IndexDirectory": str(folder / "db"),
        "Plugins": [],
        "HttpPort": http_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomAet": aet,
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": False,
        "DicomCheckModalityHost": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowMove": True,
        "DicomAlwaysAllowGet": True,
        "DicomModalities": {},
        "UnknownSopClassAccepted": True,
        "SyncStorageArea": False,
        "StableAge": 1,
        "SaveJobs": False,
        "MetricsEnabled": False,
    }
    config_path = folder / "orthanc.json"
    config_path.write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("wb")
    proc = subprocess.Popen(
        [ORTHANC, str(config_path)], stdout=log, stderr=subprocess.STDOUT, env=peer_env(),
        cwd=folder,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http_port}/system", timeout=1).read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "Orthanc did not start:\n" + (folder / "orthanc.log").read_text()[-3000:]
                    ) from None
                time.sleep(0.05)
        wait_for_port(dicom_port, proc)
        yield OrthancPeer(aet, dicom_port, http_port, folder, proc)
    finally:
        _kill(proc)
        log.close()


# -- dcmqrscp --------------------------------------------------------------------------
@dataclass
class DcmqrscpPeer:
    aet: str
    port: int
    folder: Path
    proc: subprocess.Popen[bytes]

    def load(self, source: Path) -> None:
        """storescu every ``*.dcm`` under ``source`` into the archive (+sd: scan the folder)."""
        subprocess.run(
            [STORESCU, "-aec", self.aet, "-aet", "LOADER", "+sd", "+r", "+sp", "*.dcm",
             "127.0.0.1", str(self.port), str(source)],
            check=True, env=peer_env(), capture_output=True,
        )  # fmt: skip


@contextlib.contextmanager
def run_dcmqrscp(
    folder: Path,
    *,
    hosts: Mapping[str, tuple[str, str, int]],
    aet: str = "DCMQR",
) -> Iterator[DcmqrscpPeer]:
    """dcmqrscp with a HostTable of move destinations: symbolic name -> (AET, host, port).

    dcmqrscp only moves to AE titles in its HostTable, which is read at start, so the
    destinations' ports must be known before it starts.
    """
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "db"
    db.mkdir(exist_ok=True)
    port = free_port()
    host_lines = "\n".join(
        f"{name} = ({ae_title}, {host}, {host_port})"
        for name, (ae_title, host, host_port) in hosts.items()
    )
    (folder / "dcmqrscp.cfg").write_text(
        f"""NetworkTCPPort = {port}
MaxPDUSize = 16384
MaxAssociations = 16
HostTable BEGIN
{host_lines}
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
{aet} {db} RW (200, 1024mb) ANY
AETable END
"""
    )
    log = (folder / "dcmqrscp.log").open("wb")
    proc = subprocess.Popen(
        [DCMQRSCP, "-c", str(folder / "dcmqrscp.cfg")],  # forks per association
        stdout=log, stderr=subprocess.STDOUT, env=peer_env(), cwd=folder,
    )  # fmt: skip
    try:
        wait_for_port(port, proc)
        yield DcmqrscpPeer(aet, port, folder, proc)
    finally:
        _kill(proc)
        log.close()


@contextlib.contextmanager
def silent_server(host: str = "127.0.0.1") -> Iterator[int]:
    """A TCP server that accepts connections and never says a word (a hung PACS); yields
    its port."""
    server = socket.create_server((host, 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        server.close()
