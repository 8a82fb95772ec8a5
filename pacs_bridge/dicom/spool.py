"""The spool: where received files land before the first pass (raw, PHI, owner-only).

Layout::

    root/                                     0700
      <sha256(series uid)[:32]>/              one folder per series, 0700
        <sha256(sop instance uid)[:32]>.dcm   DICOM File Format (PS3.10 7.1), 0600
      unsorted/                               Series Instance UID unreadable
      .partial/                               files being written (same file system,
                                              so the final rename is atomic)

Folder and file names are hashes so that a listing reveals no UID; the pull job finds
its files with ``files_for_series`` and reconciles them with ``instance_key``.

Speed matters here (the listener is CPU-bound, ENVIRONMENT.md): the file meta is
encoded by hand (``MetaInfo``), and the Study and Series Instance UIDs are found by a
small scanner over the first bytes of the data set (PS3.5 7.1) rather than by pydicom,
which is the fallback for anything unusual (big endian, deflate, a header longer than
the window). The listener's admission check (``policy.ActiveJobs``) reads both before
a received file is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import struct
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from pydicom.dataset import FileMetaDataset
from pydicom.filereader import _read_file_meta_info, data_element_generator
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

PREAMBLE = b"\x00" * 128 + b"DICM"  # PS3.10 7.1
STUDY_INSTANCE_UID = 0x0020000D
SERIES_INSTANCE_UID = 0x0020000E
_COPY_CHUNK = 1 << 20
_HEADER_WINDOW = 16 * 1024  # bytes scanned for (0020,000D/E) before falling back to pydicom
_DEFLATE_HEADER_LIMIT = 4 << 20

DatasetSource = bytes | bytearray | memoryview | BinaryIO | Path
#: (Study Instance UID, Series Instance UID) of a data set; None where unreadable.
StudySeries = tuple[str | None, str | None]
#: The listener's admission check on a received file: ``(study, series) -> keep it``.
Admit = Callable[[str | None, str | None], bool]


@dataclass(frozen=True)
class MetaInfo:
    """The File Meta Information we write for a received instance (PS3.10 7.1)."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    source_ae_title: str = ""

    def encode(self) -> bytes:
        """Preamble, ``DICM`` and group 0002 in explicit VR little endian."""
        body = b"".join(
            [
                _element(0x0001, b"OB", b"\x00\x01"),
                _element(0x0002, b"UI", _ui(self.sop_class_uid)),
                _element(0x0003, b"UI", _ui(self.sop_instance_uid)),
                _element(0x0010, b"UI", _ui(self.transfer_syntax_uid)),
                _element(0x0012, b"UI", _ui(PYNETDICOM_IMPLEMENTATION_UID)),
                _element(0x0013, b"SH", _text(PYNETDICOM_IMPLEMENTATION_VERSION)),
                _element(0x0016, b"AE", _text(self.source_ae_title))
                if self.source_ae_title
                else b"",
            ]
        )
        return PREAMBLE + _element(0x0000, b"UL", struct.pack("<I", len(body))) + body

    @classmethod
    def from_dataset(cls, file_meta: FileMetaDataset) -> MetaInfo:
        return cls(
            str(file_meta.MediaStorageSOPClassUID),
            str(file_meta.MediaStorageSOPInstanceUID),
            str(file_meta.TransferSyntaxUID),
            str(file_meta.get("SourceApplicationEntityTitle", "") or "").strip(),
        )


def _ui(value: str) -> bytes:
    raw = value.strip("\x00 ").encode("ascii")
    return raw + b"\x00" if len(raw) % 2 else raw


def _text(value: str) -> bytes:
    raw = value.strip().encode("ascii", "replace")
    return raw + b" " if len(raw) % 2 else raw


def _element(elem: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH2s2xI", 0x0002, elem, vr, len(value)) + value
    return struct.pack("<HH2sH", 0x0002, elem, vr, len(value)) + value


class Spool:
    """A folder of received instances grouped by series, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / ".partial"
        self.unsorted_dir = self.root / "unsorted"
        for folder in (self.root, self.tmp_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask

    # -- names -------------------------------------------------------------------------
    @staticmethod
    def instance_key(sop_instance_uid: str) -> str:
        """The file stem of an instance: ``sha256(uid)[:32]``."""
        return _key(sop_instance_uid)

    def series_dir(self, series_instance_uid: str) -> Path:
        return self.root / _key(series_instance_uid)

    def path_for(self, series_instance_uid: str, sop_instance_uid: str) -> Path:
        return self.series_dir(series_instance_uid) / f"{_key(sop_instance_uid)}.dcm"

    # -- writing -----------------------------------------------------------------------
    def store(
        self,
        file_meta: FileMetaDataset | MetaInfo | None,
        dataset: DatasetSource,
        *,
        series_instance_uid: str | None = None,
        move: bool = False,
    ) -> Path:
        """Write one instance atomically and return its path.

        ``dataset`` is the encoded data set *without* file meta (bytes, a memoryview or
        a binary file positioned at its start), or the ``Path`` of a complete DICOM file
        (preamble, file meta, data set), as pynetdicom writes with
        ``STORE_RECV_CHUNKED_DATASET``. For a path, ``file_meta`` None keeps the file's
        own meta, and ``move`` lets the file be renamed into place instead of copied.

        The file is ``series_dir/instance_key.dcm``, mode 0600, replaced if it exists
        (re-receiving an instance is idempotent). The Series Instance UID is read from
        the header only (up to (0020,000E)) unless given. If it cannot be read the file
        goes to ``unsorted/``: the spool keeps what it gets, the first pass judges.
        Nothing is decoded beyond the header and the data set is never copied in
        memory: buffers are written as they are, files are renamed or streamed.
        """
        if isinstance(dataset, Path):
            return self._store_file(file_meta, dataset, series_instance_uid, move)
        if file_meta is None:
            raise ValueError("file_meta is required when the data set is not a file")
        meta = file_meta if isinstance(file_meta, MetaInfo) else MetaInfo.from_dataset(file_meta)
        encoded_meta = _encode_meta(file_meta)
        if isinstance(dataset, bytes | bytearray | memoryview):
            view = memoryview(dataset)
            if series_instance_uid is None:
                series_instance_uid = series_uid_from_buffer(view, meta.transfer_syntax_uid)
            target = self._target(series_instance_uid, meta.sop_instance_uid)
            with self._atomic(target) as out:
                out.write(encoded_meta)
                out.write(view)
            return target
        start = dataset.tell()
        if series_instance_uid is None:
            series_instance_uid = read_series_instance_uid(dataset, meta.transfer_syntax_uid)
            dataset.seek(start)
        target = self._target(series_instance_uid, meta.sop_instance_uid)
        with self._atomic(target) as out:
            out.write(encoded_meta)
            shutil.copyfileobj(dataset, out, _COPY_CHUNK)
        return target

    def store_received_file(
        self,
        path: Path,
        *,
        sop_instance_uid: str,
        transfer_syntax_uid: str,
        admit: Admit | None = None,
    ) -> Path | None:
        """The listener's fast path: rename pynetdicom's complete temporary DICOM file
        into place, knowing the instance and syntax from the C-STORE request.

        ``admit(study, series)`` (the listener's admission check) sees the UIDs read
        from the header first: when it says no, nothing is stored, ``path`` is left as
        it is (for the caller to delete) and the result is None.

        ``path`` must be owner-only already (the listener's temporary files are made
        0600), since its mode is kept.
        """
        with path.open("rb") as src:
            offset = _dataset_offset(src)
            if offset is None:  # file meta without a group length: let pydicom find its end
                src.seek(0)
                if src.read(132)[128:] != b"DICM":
                    raise ValueError("not a DICOM file (no DICM prefix)")
                _read_file_meta_info(src)
            else:
                src.seek(offset)
            study_instance_uid, series_instance_uid = read_study_and_series(
                src, transfer_syntax_uid
            )
        if admit is not None and not admit(study_instance_uid, series_instance_uid):
            return None
        target = self._target(series_instance_uid, sop_instance_uid)
        try:
            self._replace(path, target)
        except OSError:  # not the same file system (EXDEV): copy
            return self._store_file(None, path, series_instance_uid or "", True)
        return target

    def _store_file(
        self,
        file_meta: FileMetaDataset | MetaInfo | None,
        path: Path,
        series_instance_uid: str | None,
        move: bool,
    ) -> Path:
        with path.open("rb") as src:
            if src.read(132)[128:] != b"DICM":
                raise ValueError("not a DICOM file (no DICM prefix)")
            own_meta = _read_file_meta_info(src)
            dataset_start = src.tell()
            if file_meta is None:
                sop_instance_uid = str(own_meta.MediaStorageSOPInstanceUID)
            elif isinstance(file_meta, MetaInfo):
                sop_instance_uid = file_meta.sop_instance_uid
            else:
                sop_instance_uid = str(file_meta.MediaStorageSOPInstanceUID)
            if series_instance_uid is None:
                series_instance_uid = read_series_instance_uid(src, str(own_meta.TransferSyntaxUID))
            target = self._target(series_instance_uid, sop_instance_uid)
            if file_meta is None and move:
                try:
                    os.chmod(path, 0o600)
                    self._replace(path, target)
                    return target
                except OSError:  # another file system (EXDEV): copy instead
                    pass
            with self._atomic(target) as out:
                if file_meta is None:
                    src.seek(0)
                else:
                    src.seek(dataset_start)
                    out.write(_encode_meta(file_meta))
                shutil.copyfileobj(src, out, _COPY_CHUNK)
        if move:
            with contextlib.suppress(OSError):
                path.unlink()
        return target

    def _target(self, series_instance_uid: str | None, sop_instance_uid: str) -> Path:
        folder = self.series_dir(series_instance_uid) if series_instance_uid else self.unsorted_dir
        return folder / f"{_key(sop_instance_uid)}.dcm"

    @staticmethod
    def _replace(source: Path | str, target: Path) -> None:
        """os.replace, making the series folder (0700) when it is missing."""
        try:
            os.replace(source, target)
        except FileNotFoundError:
            if not os.path.exists(source):
                raise
            target.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(source, target)

    @contextlib.contextmanager
    def _atomic(self, target: Path) -> Iterator[BinaryIO]:
        """A 0600 temporary file in ``.partial/`` renamed onto ``target`` when complete."""
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, suffix=".part")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                yield out
            self._replace(name, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise

    # -- reading -----------------------------------------------------------------------
    def files_for_series(self, series_instance_uid: str) -> list[Path]:
        folder = self.series_dir(series_instance_uid)
        if not folder.is_dir():
            return []
        return sorted(folder.glob("*.dcm"))

    def discard_older_than(self, seconds: float) -> int:
        """Delete files (and partial writes) not modified for ``seconds``; count them.

        Unsolicited files, files of cancelled jobs and leftovers of a crash are not
        kept forever. Empty series folders are removed too.
        """
        cutoff = time.time() - seconds
        removed = 0
        folders = [p for p in self.root.iterdir() if p.is_dir() and p != self.tmp_dir]
        for folder in [self.tmp_dir, *folders]:
            for path in folder.iterdir():
                try:
                    if path.is_file() and path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
            if folder != self.tmp_dir:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if empty
        return removed


def _key(uid: str) -> str:
    return hashlib.sha256(uid.strip("\x00 ").encode("ascii", "replace")).hexdigest()[:32]


def _encode_meta(file_meta: FileMetaDataset | MetaInfo) -> bytes:
    if isinstance(file_meta, MetaInfo):
        return file_meta.encode()
    buffer = BytesIO()
    buffer.write(PREAMBLE)
    write_file_meta_info(buffer, file_meta, enforce_standard=True)  # type: ignore[arg-type]
    return buffer.getvalue()


def _dataset_offset(fp: BinaryIO) -> int | None:
    """Where the data set starts in a DICOM file, from (0002,0000) Group Length."""
    head = fp.read(144)
    if len(head) < 144 or head[128:132] != b"DICM":
        return None
    group, elem, vr, length = struct.unpack_from("<HH2sH", head, 132)
    if (group, elem, vr, length) != (2, 0, b"UL", 4):
        return None
    return 144 + int(struct.unpack_from("<I", head, 140)[0])


# -- finding (0020,000E) -----------------------------------------------------------------
# PS3.5 7.1.2: VRs with a 4-byte length (after 2 reserved bytes) in explicit VR
_LONG_VRS = {
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
}  # fmt: skip
_VALID_VRS = _LONG_VRS | {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT",
    b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
}  # fmt: skip
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNPACK_TAG = struct.Struct("<HH").unpack_from
_UNPACK_U16 = struct.Struct("<H").unpack_from
_UNPACK_U32 = struct.Struct("<I").unpack_from


class _NeedMore(Exception):
    """The scan reached the end of the window or met something it does not handle."""


def _skip_undefined(buf: memoryview, pos: int, explicit: bool) -> int:
    """Position after the (FFFE,E0DD) that ends an undefined-length sequence at ``pos``."""
    end = len(buf)
    while True:
        if pos + 8 > end:
            raise _NeedMore
        group, elem = _UNPACK_TAG(buf, pos)
        tag = group << 16 | elem
        length = _UNPACK_U32(buf, pos + 4)[0]
        pos += 8
        if tag == _SEQUENCE_END:
            return pos
        if tag != _ITEM:
            raise _NeedMore
        if length != 0xFFFFFFFF:
            pos += length
            continue
        while True:  # an undefined-length item: elements until (FFFE,E00D)
            if pos + 8 > end:
                raise _NeedMore
            group, elem = _UNPACK_TAG(buf, pos)
            if group << 16 | elem == _ITEM_END:
                pos += 8
                break
            pos = _skip_element(buf, pos, explicit)


def _element_header(buf: memoryview, pos: int, explicit: bool) -> tuple[int, int, int]:
    """(tag, value length, header size) of the element at ``pos``."""
    if pos + 8 > len(buf):
        raise _NeedMore
    group, elem = _UNPACK_TAG(buf, pos)
    tag = group << 16 | elem
    if not explicit or group == 0xFFFE:
        return tag, _UNPACK_U32(buf, pos + 4)[0], 8
    vr = bytes(buf[pos + 4 : pos + 6])
    if vr in _LONG_VRS:
        if pos + 12 > len(buf):
            raise _NeedMore
        return tag, _UNPACK_U32(buf, pos + 8)[0], 12
    if vr not in _VALID_VRS:
        raise _NeedMore
    return tag, _UNPACK_U16(buf, pos + 6)[0], 8


def _skip_element(buf: memoryview, pos: int, explicit: bool) -> int:
    _, length, header = _element_header(buf, pos, explicit)
    pos += header
    if length == 0xFFFFFFFF:
        return _skip_undefined(buf, pos, explicit)
    return pos + length


def _uid_value(buf: memoryview, start: int, length: int) -> str | None:
    if length == 0xFFFFFFFF or start + length > len(buf):
        raise _NeedMore
    return bytes(buf[start : start + length]).decode("ascii", "replace").strip("\x00 ") or None


def _scan(buf: memoryview, explicit: bool) -> StudySeries:
    """(0020,000D) and (0020,000E) of a little endian data set in ``buf`` (None for
    each it does not have)."""
    pos = 0
    study = None
    while pos < len(buf):
        tag, length, header = _element_header(buf, pos, explicit)
        if tag >= STUDY_INSTANCE_UID:
            if tag == STUDY_INSTANCE_UID:
                study = _uid_value(buf, pos + header, length)
            elif tag == SERIES_INSTANCE_UID:
                return study, _uid_value(buf, pos + header, length)
            else:
                return study, None
        pos += header
        pos = _skip_undefined(buf, pos, explicit) if length == 0xFFFFFFFF else pos + length
    raise _NeedMore


def _scannable(ts: UID) -> bool:
    return ts in (ExplicitVRLittleEndian, ImplicitVRLittleEndian) or (
        ts.is_compressed and ts.is_little_endian and not ts.is_deflated
    )


def study_and_series_from_buffer(view: memoryview, transfer_syntax: str) -> StudySeries:
    """(0020,000D) and (0020,000E) of the encoded data set in ``view`` (no copy)."""
    ts = UID(transfer_syntax)
    if _scannable(ts):
        with contextlib.suppress(_NeedMore):
            return _scan(view[:_HEADER_WINDOW], explicit=ts != ImplicitVRLittleEndian)
    return read_study_and_series(_ViewReader(view), ts)  # type: ignore[arg-type]


def series_uid_from_buffer(view: memoryview, transfer_syntax: str) -> str | None:
    """(0020,000E) of the encoded data set in ``view`` (no copy of the data set)."""
    return study_and_series_from_buffer(view, transfer_syntax)[1]


def read_study_and_series(fp: BinaryIO, transfer_syntax: str) -> StudySeries:
    """(0020,000D) and (0020,000E) from an encoded data set at ``fp``, reading only the
    header up to them (PS3.5 7.1: elements are in ascending tag order).

    None for a UID that is absent or cannot be parsed that far. Little endian data sets
    are scanned in a 16 KB window; anything else, or a header longer than the window,
    is parsed by pydicom (values skipped by seeking).
    """
    ts = UID(transfer_syntax)
    start = fp.tell()
    if _scannable(ts):
        window = memoryview(fp.read(_HEADER_WINDOW))
        with contextlib.suppress(_NeedMore):
            return _scan(window, explicit=ts != ImplicitVRLittleEndian)
        fp.seek(start)
    return _read_uids_pydicom(fp, ts)


def read_series_instance_uid(fp: BinaryIO, transfer_syntax: str) -> str | None:
    """(0020,000E) from an encoded data set at ``fp`` (see ``read_study_and_series``)."""
    return read_study_and_series(fp, transfer_syntax)[1]


def _read_uids_pydicom(fp: BinaryIO, ts: UID) -> StudySeries:
    found: dict[int, str | None] = {}
    try:
        if ts == DeflatedExplicitVRLittleEndian:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            limit = _DEFLATE_HEADER_LIMIT
            fp = BytesIO(inflater.decompress(fp.read(limit), limit))
        elements = data_element_generator(
            fp,
            ts == ImplicitVRLittleEndian,
            ts != ExplicitVRBigEndian,
            stop_when=lambda tag, vr, length: int(tag) > SERIES_INSTANCE_UID,
            defer_size=1024,
        )
        for elem in elements:
            if elem.tag in (STUDY_INSTANCE_UID, SERIES_INSTANCE_UID):
                value = elem.value
                if isinstance(value, bytes):
                    value = value.decode("ascii", "replace")
                found[int(elem.tag)] = str(value).strip("\x00 ") or None
            if int(elem.tag) >= SERIES_INSTANCE_UID:
                break
    except Exception:  # a corrupt header: the first pass will say what is wrong
        pass
    return found.get(STUDY_INSTANCE_UID), found.get(SERIES_INSTANCE_UID)


class _ViewReader:
    """A read-only file over a memoryview (BytesIO(view) would copy the whole data set)."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._pos + size
        chunk = bytes(self._view[self._pos : end])
        self._pos += len(chunk)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


__all__ = [
    "PREAMBLE",
    "Admit",
    "MetaInfo",
    "Spool",
    "StudySeries",
    "read_series_instance_uid",
    "read_study_and_series",
    "series_uid_from_buffer",
    "study_and_series_from_buffer",
]
