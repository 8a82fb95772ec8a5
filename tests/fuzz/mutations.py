"""Hypothesis strategies that damage a valid DICOM file the ways hostile or broken
senders do: flipped and inserted bytes, truncation, lying length fields, absurd image
geometry, and sequences nested far deeper than any real object."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st

from tests.anonymizer.dirty import dirty_ct, dirty_us_cine, to_bytes

# Small originals keep each example fast; the damage, not the size, is under test.
BASES = (
    to_bytes(dirty_ct(1, rows=32, columns=32)),
    to_bytes(dirty_us_cine(frames=2, rows=24, columns=32)),
)
# The data set starts after the preamble, the marker and the file meta information.
DATA_START = 132

GEOMETRY_TAGS = {
    "Rows": (0x0028, 0x0010),
    "Columns": (0x0028, 0x0011),
    "BitsAllocated": (0x0028, 0x0100),
    "BitsStored": (0x0028, 0x0101),
    "SamplesPerPixel": (0x0028, 0x0002),
}


def _flip(data: bytes, positions: list[int], values: list[int]) -> bytes:
    out = bytearray(data)
    for pos, value in zip(positions, values, strict=False):
        out[DATA_START + pos % (len(out) - DATA_START)] = value
    return bytes(out)


def _set_us(data: bytes, tag: tuple[int, int], value: int) -> bytes:
    """Overwrite an explicit-VR-little-endian US element's value in place."""
    needle = struct.pack("<HH", *tag) + b"US\x02\x00"
    at = data.find(needle, DATA_START)
    if at < 0:
        return data
    return data[: at + 8] + struct.pack("<H", value) + data[at + 10 :]


def _lying_length(data: bytes, element: int, length: int) -> bytes:
    """Give the n-th explicit-VR element with a 2-byte length a different length."""
    out, pos, seen = bytearray(data), DATA_START, 0
    while pos + 8 <= len(out):
        vr = bytes(out[pos + 4 : pos + 6])
        if vr in (b"OB", b"OW", b"OF", b"SQ", b"UT", b"UN", b"UC", b"UR", b"OD", b"OL", b"OV"):
            if seen == element:
                out[pos + 8 : pos + 12] = struct.pack("<I", length)
                return bytes(out)
            (size,) = struct.unpack("<I", out[pos + 8 : pos + 12])
            if size == 0xFFFFFFFF:
                return bytes(out)
            pos += 12 + size
        else:
            if seen == element:
                out[pos + 6 : pos + 8] = struct.pack("<H", length & 0xFFFF)
                return bytes(out)
            (size,) = struct.unpack("<H", out[pos + 6 : pos + 8])
            pos += 8 + size
        seen += 1
    return bytes(out)


def nested_sequences(depth: int) -> bytes:
    """A private sequence nested ``depth`` items deep, undefined lengths, as raw bytes."""
    open_ = struct.pack("<HH", 0x0009, 0x1010) + b"SQ\x00\x00" + b"\xff\xff\xff\xff"
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_end = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    seq_end = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    creator = struct.pack("<HH", 0x0009, 0x0010) + b"LO" + struct.pack("<H", 4) + b"EVIL"
    return creator + (open_ + item + creator) * depth + (item_end + seq_end) * depth


def _nest(data: bytes, depth: int) -> bytes:
    """Insert the nested sequence before Patient's Name (group 0009 sorts before 0010)."""
    at = data.find(b"\x10\x00\x10\x00PN", DATA_START)  # Patient's Name
    at = at if at > 0 else DATA_START
    return data[:at] + nested_sequences(depth) + data[at:]


base = st.sampled_from(BASES)

damaged_files = st.one_of(
    base,
    st.builds(
        _flip,
        base,
        st.lists(st.integers(0, 1 << 20), min_size=1, max_size=24),
        st.lists(st.integers(0, 255), min_size=1, max_size=24),
    ),
    st.builds(
        lambda d, n: d[: DATA_START + n % (len(d) - DATA_START)], base, st.integers(0, 1 << 20)
    ),
    st.builds(
        lambda d, n, junk: (
            d[: DATA_START + n % (len(d) - DATA_START)]
            + junk
            + d[DATA_START + n % (len(d) - DATA_START) :]
        ),
        base,
        st.integers(0, 1 << 20),
        st.binary(min_size=1, max_size=64),
    ),
    st.builds(
        _set_us,
        base,
        st.sampled_from(sorted(GEOMETRY_TAGS.values())),
        st.sampled_from([0, 1, 7, 15, 17, 33, 255, 4096, 32767, 65535]),
    ),
    st.builds(
        _lying_length,
        base,
        st.integers(0, 60),
        st.sampled_from([0, 1, 3, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFF0, 0xFFFFFFFF]),
    ),
    st.builds(_nest, base, st.sampled_from([1, 8, 64, 400, 3000])),
)


#: ``FUZZ_SEED=<n>`` explores new examples; without it every run tries the same ones.
SEED = int(os.environ.get("FUZZ_SEED", "0"))


def fuzz(examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings of every fuzz target: ``examples`` tries, no deadline (the
    machine may be busy), no example database, repeatable unless ``FUZZ_SEED`` is set."""

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        test = settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=SEED == 0,
            suppress_health_check=list(HealthCheck),
        )(test)
        return seed(SEED)(test) if SEED else test

    return decorate
