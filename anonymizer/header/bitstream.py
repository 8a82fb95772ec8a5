"""Identifiers inside encapsulated frames: JPEG and JPEG 2000 marker segments, RLE headers.

Compressed frames (PS3.5 A.4) are codestreams with their own metadata. A modality or a
PACS may write the patient's name into a JPEG comment (COM), an EXIF or XMP block
(APP1), a vendor APPn block, or a JPEG 2000 comment (COM). The header profile never
sees these, so :func:`clean_encapsulated_pixel_data` rewrites each frame without them.
Pixels are never decoded: only marker segments are parsed and dropped, the entropy-
coded data is copied byte for byte, so the decoded image is identical.

JPEG family (ISO/IEC 10918-1 B.1; JPEG-LS ISO/IEC 14495-1 C.1), transfer syntaxes
1.2.840.10008.1.2.4.50, .51, .57, .70, .80, .81:

- COM (FFFE) and APPn (FFE0-FFEF) segments are dropped, wherever they are (before the
  first scan and between scans), except those a decoder needs: APP0 "JFIF" (kept with
  its thumbnail removed), APP14 "Adobe" (colour transform) and, in JPEG-LS, APP8
  "mrfx" (HP colour transform). APP0 "JFXX" is only a thumbnail and is dropped.
- Bytes after EOI are dropped.

JPEG 2000 (ISO/IEC 15444-1 A.3, A.4; also HTJ2K, 15444-15), 1.2.840.10008.1.2.4.90,
.91, .201, .202, .203:

- COM (FF64) segments are dropped from the main header and from every tile-part header
  (the tile-part length Psot is corrected; a TLM index of tile-part lengths is dropped
  when those lengths change). Bytes after EOC are dropped.
- A frame wrapped in a JP2 file (boxes with possible XML or UUID metadata) is replaced
  by the raw codestream of its 'jp2c' box, as PS3.5 A.4.4 requires anyway.

RLE Lossless (PS3.5 G.5), 1.2.840.10008.1.2.5: the 64-byte header of each frame holds
the number of segments and up to 15 offsets; the unused offset slots, and any bytes
between the header and the first segment, are set to zero (decoders never read them).

Frames are re-encapsulated one fragment per frame with a Basic Offset Table (or with
the Extended Offset Table if the data set used one); data sets with nothing to drop are
left untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, encapsulate_extended, generate_frames

__all__ = [
    "JPEG2000_SYNTAXES",
    "JPEG_LS_SYNTAXES",
    "JPEG_SYNTAXES",
    "clean_encapsulated_pixel_data",
    "clean_j2k_frame",
    "clean_jpeg_frame",
    "clean_rle_frame",
]

JPEG_SYNTAXES: frozenset[str] = frozenset(
    {
        "1.2.840.10008.1.2.4.50",  # JPEG Baseline (Process 1)
        "1.2.840.10008.1.2.4.51",  # JPEG Extended (Process 2 & 4)
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless, Non-Hierarchical (Process 14)
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless, First-Order Prediction
    }
)
JPEG_LS_SYNTAXES: frozenset[str] = frozenset({"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"})
JPEG2000_SYNTAXES: frozenset[str] = frozenset(
    {
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless Only
        "1.2.840.10008.1.2.4.91",  # JPEG 2000
        "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
        "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
        "1.2.840.10008.1.2.4.203",  # HTJ2K
    }
)

# -- JPEG and JPEG-LS ------------------------------------------------------------------

_SOI, _EOI, _SOS, _COM = 0xD8, 0xD9, 0xDA, 0xFE
_APP0, _APP8, _APP14, _APP15 = 0xE0, 0xE8, 0xEE, 0xEF
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
# The next marker after entropy-coded data: FF not followed by a stuffed 00 (JPEG), a
# restart marker or a fill byte. In JPEG-LS a marker is FF followed by a byte >= 0x80.
_NEXT_MARKER_JPEG = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")
_NEXT_MARKER_LS = re.compile(rb"\xff(?=[\x80-\xcf\xd8-\xfe])")


def _keep_app(marker: int, payload: bytes, *, jpeg_ls: bool) -> bool:
    if marker == _APP0:
        return payload.startswith(b"JFIF\x00")
    if marker == _APP14:
        return payload.startswith(b"Adobe")
    return jpeg_ls and marker == _APP8 and payload.startswith(b"mrfx")


def _jfif_without_thumbnail(segment: bytes) -> bytes:
    """An APP0 JFIF segment with its thumbnail (X/Ythumbnail and RGB data) removed."""
    if len(segment) <= 18:  # FFE0, length, "JFIF\0", version, units, densities, 0, 0
        return segment
    body = segment[4:16] + b"\x00\x00"  # JFIF\0 .. Ydensity, then no thumbnail
    return b"\xff\xe0" + (2 + len(body)).to_bytes(2, "big") + body


def clean_jpeg_frame(frame: bytes, *, jpeg_ls: bool = False) -> tuple[bytes, int]:
    """(``frame`` without COM and unneeded APPn segments, number of segments dropped).

    A frame that does not start with SOI, or that ends early, is returned with
    everything from the first unparsable byte copied unchanged.
    """
    if frame[:2] != b"\xff\xd8":
        return frame, 0
    next_marker = _NEXT_MARKER_LS if jpeg_ls else _NEXT_MARKER_JPEG
    out = bytearray(b"\xff\xd8")
    dropped, pos, end = 0, 2, len(frame)
    while pos + 1 < end:
        if frame[pos] != 0xFF:  # not at a marker: copy the rest as it is
            out += frame[pos:]
            return bytes(out), dropped
        marker = frame[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == _EOI:
            out += b"\xff\xd9"
            return bytes(out), dropped
        if marker in _STANDALONE:
            out += frame[pos : pos + 2]
            pos += 2
            continue
        if pos + 4 > end:
            break
        seg_end = pos + 2 + int.from_bytes(frame[pos + 2 : pos + 4], "big")
        if seg_end > end:
            break
        segment = frame[pos:seg_end]
        if marker == _COM or (
            _APP0 <= marker <= _APP15 and not _keep_app(marker, segment[4:], jpeg_ls=jpeg_ls)
        ):
            dropped += 1
        elif marker == _APP0:
            cleaned = _jfif_without_thumbnail(segment)
            dropped += cleaned != segment
            out += cleaned
        else:
            out += segment
        pos = seg_end
        if marker == _SOS:  # entropy-coded data up to the next marker
            found = next_marker.search(frame, pos)
            stop = found.start() if found else end
            out += frame[pos:stop]
            pos = stop
    out += frame[pos:]
    return bytes(out), dropped


# -- JPEG 2000 ---------------------------------------------------------------------------

_J2K_SOC, _J2K_SOT, _J2K_SOD, _J2K_EOC = b"\xff\x4f", b"\xff\x90", b"\xff\x93", b"\xff\xd9"
_J2K_COM, _J2K_TLM = b"\xff\x64", b"\xff\x55"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def _jp2_codestream(data: bytes) -> bytes | None:
    """The contents of the first 'jp2c' box of a JP2 file, None if there is none."""
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = len(data) - pos
        if size < header:
            return None
        if kind == b"jp2c":
            return data[pos + header : pos + size]
        pos += size
    return None


def _segments(data: bytes, pos: int, stop: bytes, end: int) -> tuple[list[bytes], int]:
    """Marker segments from ``pos`` up to (not including) the marker ``stop``."""
    segments = []
    while pos + 4 <= end and data[pos : pos + 2] != stop:
        if data[pos] != 0xFF:
            raise ValueError("not a marker")
        seg_end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if seg_end > end:
            raise ValueError("truncated marker segment")
        segments.append(data[pos:seg_end])
        pos = seg_end
    return segments, pos


def clean_j2k_frame(frame: bytes) -> tuple[bytes, int]:
    """(``frame`` without COM segments, number of segments or boxes dropped).

    A frame that cannot be parsed is returned unchanged with 0.
    """
    dropped = 0
    if frame.startswith(_JP2_SIGNATURE):
        codestream = _jp2_codestream(frame)
        if codestream is None:
            return frame, 0
        frame, dropped = codestream, 1
    if not frame.startswith(_J2K_SOC):
        return frame, dropped
    try:
        cleaned, count = _clean_codestream(frame)
    except ValueError:
        return frame, dropped
    return cleaned, dropped + count


def _clean_codestream(data: bytes) -> tuple[bytes, int]:
    end = len(data)
    main, pos = _segments(data, 2, _J2K_SOT, end)
    dropped = sum(seg[:2] == _J2K_COM for seg in main)
    main = [seg for seg in main if seg[:2] != _J2K_COM]
    tile_parts: list[bytes] = []
    lengths_changed = False
    while pos + 2 <= end and data[pos : pos + 2] == _J2K_SOT:
        psot = int.from_bytes(data[pos + 6 : pos + 10], "big")
        # Psot 0: the last tile-part, running up to EOC
        last_end = end - 2 if data.endswith(_J2K_EOC) else end
        tp_end = pos + psot if psot else last_end
        if tp_end > end:
            raise ValueError("truncated tile-part")
        sot = data[pos : pos + 12]
        header, body_start = _segments(data, pos + 12, _J2K_SOD, tp_end)
        kept = [seg for seg in header if seg[:2] != _J2K_COM]
        removed = sum(len(seg) for seg in header) - sum(len(seg) for seg in kept)
        if removed:
            dropped += len(header) - len(kept)
            lengths_changed = True
            if psot:
                sot = sot[:6] + (psot - removed).to_bytes(4, "big") + sot[10:]
        tile_parts.append(sot + b"".join(kept) + data[body_start:tp_end])
        pos = tp_end
    if pos < end and data[pos:] != _J2K_EOC:
        dropped += 1  # bytes after the last tile-part (or after EOC) are not kept
    if not dropped:
        return data, 0
    if lengths_changed:
        main = [seg for seg in main if seg[:2] != _J2K_TLM]
    return _J2K_SOC + b"".join(main) + b"".join(tile_parts) + _J2K_EOC, dropped


# -- RLE -------------------------------------------------------------------------------

_RLE_HEADER = 64
_RLE_MAX_SEGMENTS = 15
RLE_SYNTAXES: frozenset[str] = frozenset({"1.2.840.10008.1.2.5"})


def clean_rle_frame(frame: bytes) -> tuple[bytes, int]:
    """Zero the unused offset slots of an RLE frame's header and the bytes between the
    header and the first segment; return the frame and 1 if anything changed, else 0.
    A header that does not parse (too short, more than 15 segments) is left alone: the
    decoder refuses it."""
    if len(frame) < _RLE_HEADER:
        return frame, 0
    segments = int.from_bytes(frame[:4], "little")
    if not 1 <= segments <= _RLE_MAX_SEGMENTS:
        return frame, 0
    first = int.from_bytes(frame[4:8], "little")
    if not _RLE_HEADER <= first <= len(frame):
        return frame, 0
    start = 4 + 4 * segments
    if not any(frame[start:_RLE_HEADER]) and not any(frame[_RLE_HEADER:first]):
        return frame, 0
    cleaned = frame[:start] + bytes(first - start) + frame[first:]
    return cleaned, 1


# -- data sets -----------------------------------------------------------------------------

_FrameCleaner = Callable[[bytes], tuple[bytes, int]]


def _jpeg(frame: bytes) -> tuple[bytes, int]:
    return clean_jpeg_frame(frame)


def _jpeg_ls(frame: bytes) -> tuple[bytes, int]:
    return clean_jpeg_frame(frame, jpeg_ls=True)


_CLEANERS: dict[str, _FrameCleaner] = {
    **dict.fromkeys(JPEG_SYNTAXES, _jpeg),
    **dict.fromkeys(JPEG_LS_SYNTAXES, _jpeg_ls),
    **dict.fromkeys(JPEG2000_SYNTAXES, clean_j2k_frame),
    **dict.fromkeys(RLE_SYNTAXES, clean_rle_frame),
}


def clean_encapsulated_pixel_data(ds: Dataset) -> int:
    """Drop identifying marker segments from every frame of ``ds``'s encapsulated Pixel
    Data, in place; return how many were dropped (see module docstring).

    Needs the file meta Transfer Syntax UID; other transfer syntaxes (native, MPEG,
    deflated...) and data sets without Pixel Data are left alone and return 0.
    """
    file_meta = getattr(ds, "file_meta", None)
    syntax = str(file_meta.get("TransferSyntaxUID", "")) if file_meta is not None else ""
    cleaner = _CLEANERS.get(syntax)
    if cleaner is None or "PixelData" not in ds:
        return 0
    elem = ds["PixelData"]
    if not isinstance(elem.value, bytes | bytearray) or not elem.value:
        return 0
    extended = None
    if "ExtendedOffsetTable" in ds and "ExtendedOffsetTableLengths" in ds:
        extended = (ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths)
    number_of_frames = int(ds.get("NumberOfFrames") or 1)
    frames = []
    dropped = 0
    for frame in generate_frames(
        bytes(elem.value), number_of_frames=number_of_frames, extended_offsets=extended
    ):
        cleaned, count = cleaner(frame)
        frames.append(cleaned)
        # A frame cut short at its end marker counts as a change even if no segment went.
        dropped += count or (cleaned != frame)
    if not dropped:
        return 0
    if extended is not None:
        elem.value, ds.ExtendedOffsetTable, ds.ExtendedOffsetTableLengths = encapsulate_extended(
            frames
        )
    else:
        elem.value = encapsulate(frames, has_bot=True)
    return dropped
