"""Fuzz target: the worker side of uploads (run by ``test_fuzz`` in a child, against the
test database the parent test made).

Each example uploads one good DICOM file with damaged ones (pictures with lying headers,
decompression bombs, truncated or random bytes, damaged DICOM) into a new draft case and
runs the upload job inline: the job ends, the good file becomes an image, every bad file
is quarantined with a reason, and no raw file is left.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teachingfile.test_settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from PIL import Image  # noqa: E402

from cases import services, uploads  # noqa: E402
from cases.models import ImportJob, Instance, QuarantineItem  # noqa: E402
from tests.anonymizer.dirty import dirty_ct, to_bytes  # noqa: E402
from tests.fuzz.mutations import damaged_files, fuzz  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
GOOD = to_bytes(dirty_ct(7, rows=32, columns=32))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int, body: bytes) -> bytes:
    """A PNG whose header declares ``width`` × ``height`` whatever its data holds."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def _picture(kind: str, size: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (40, 90, 200)).save(out, kind)
    return out.getvalue()


def _damage(data: bytes, at: int, junk: bytes) -> bytes:
    at = at % len(data)
    return data[:at] + junk + data[at + len(junk) :]


pictures = st.sampled_from([_picture("PNG", 24), _picture("JPEG", 24)])
bad_files = st.one_of(
    st.builds(
        png_claiming,
        st.sampled_from([0, 1, 65535, 30000, 100000, 0x7FFFFFFF]),
        st.sampled_from([1, 30000, 0x7FFFFFFF]),
        st.binary(max_size=64).map(zlib.compress),
    ),
    st.builds(_damage, pictures, st.integers(0, 4000), st.binary(min_size=1, max_size=32)),
    st.builds(lambda p, n: p[: n % len(p)], pictures, st.integers(0, 4000)),
    st.binary(max_size=512),
    damaged_files,
)

author, _ = User.objects.get_or_create(username="fuzz-author")


@fuzz(EXAMPLES)
@given(st.lists(bad_files, min_size=1, max_size=3))
def an_upload_always_ends_and_keeps_its_good_file(bad: list[bytes]) -> None:
    case = services.case_create(author=author)
    files = [SimpleUploadedFile("good.dcm", GOOD)] + [
        SimpleUploadedFile(f"bad{i}", data) for i, data in enumerate(bad)
    ]
    job = uploads.upload_job_create(case=case, by=author, files=files)
    uploads.upload_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.status
    assert job.processed == len(files), (job.processed, len(files))
    instances = Instance.objects.filter(series__case=case).count()
    held = QuarantineItem.objects.filter(job=job)
    assert instances >= 1, "the good file did not go through"
    assert all(item.reason.strip() for item in held)
    assert not any(uploads.job_folder(job.pk).glob("*")), "a raw file was left behind"


if __name__ == "__main__":
    uploads._enqueue = lambda job_id: None  # the worker is this process: run inline
    an_upload_always_ends_and_keeps_its_good_file()
    print(f"uploads: {EXAMPLES} uploads with damaged files, each ended and kept its good file")
    sys.exit(0)
