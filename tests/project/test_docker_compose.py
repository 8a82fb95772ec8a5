import shutil
import subprocess
from pathlib import Path

from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "POSTGRES_PASSWORD": "x",
    "DJANGO_SECRET_KEY": "x",
    "TEACHINGFILE_DEID_SECRET": "x",
    "TEACHINGFILE_REID_KEY": "x",
    "ORTHANC_PASSWORD": "x",
    "PATH": "/usr/bin:/bin",
}


def test_docker_compose_file_is_valid_and_has_the_production_services():
    exe = shutil.which("docker-compose")
    require(exe is not None, "docker-compose (Debian package docker-compose)")
    result = subprocess.run(
        [exe, "-f", "docker-compose.yml", "config", "--services"],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    services = set(result.stdout.split())
    assert {"web", "worker", "listener", "db", "redis", "orthanc"} <= services


def test_docker_compose_refuses_to_run_without_secrets():
    exe = shutil.which("docker-compose")
    require(exe is not None, "docker-compose (Debian package docker-compose)")
    result = subprocess.run(
        [exe, "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr
