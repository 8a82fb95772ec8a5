import stat

import pytest
from django.conf import settings

from cases import storage


def test_private_roots_are_owner_only():
    for root in settings.PRIVATE_STORAGE_ROOTS:
        storage.ensure_root(root)
        assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_files_written_to_a_private_root_are_owner_only_and_complete(tmp_path):
    path = storage.write_atomic(tmp_path / "a" / "b.dcm", b"DICM" * 10, private=True)
    assert path.read_bytes() == b"DICM" * 10
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob(".*.part"))


def test_paths_cannot_escape_their_root(tmp_path):
    assert storage.resolve_inside(tmp_path, "x/y.dcm") == tmp_path / "x" / "y.dcm"
    with pytest.raises(ValueError, match="outside"):
        storage.resolve_inside(tmp_path, "../etc/passwd")
