"""Writing a data set as a DICOM file (PS3.10 7.1) quickly.

Most elements of a de-identified file are the original's raw bytes, untouched. pydicom's
writer handles each through a per-element buffer (and deep-copies the file meta); here
raw elements whose encoding already matches the output are copied with one header each,
and everything else (sequences, converted values, undefined lengths, another encoding or
character set) goes through pydicom's own ``write_data_element``. The output is the same
bytes pydicom writes (tested), in a fraction of the time for small files.
"""

from __future__ import annotations

import struct
from pathlib import Path

from pydicom.dataelem import RawDataElement
from pydicom.dataset import FileDataset
from pydicom.filebase import DicomFileLike
from pydicom.filewriter import write_data_element, write_dataset, write_file_meta_info
from pydicom.uid import UID

# PS3.5 Table 7.1-1: explicit VRs with a 2-byte reserved field and a 4-byte length.
_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
_SHORT = struct.Struct("<HH2sH")
_LONG = struct.Struct("<HH2s2xI")
_PIXEL_DATA = 0x7FE00010


def write_part10(ds: FileDataset, path: Path) -> None:
    """Preamble, "DICM", ``ds.file_meta`` as it is, then the data set in the transfer
    syntax the file meta names (explicit VR little endian, or encapsulated)."""
    syntax = UID(ds.file_meta.TransferSyntaxUID)
    with open(path, "wb") as fh:
        fh.write(ds.preamble or b"\0" * 128)
        fh.write(b"DICM")
        fp = DicomFileLike(fh)
        write_file_meta_info(fp, ds.file_meta, enforce_standard=True)
        fp.is_little_endian, fp.is_implicit_VR = syntax.is_little_endian, syntax.is_implicit_VR
        if syntax.is_implicit_VR or not syntax.is_little_endian or not _raw_matches(ds):
            write_dataset(fp, ds)
            return
        _write_explicit_le(fp, fh, ds)


def _raw_matches(ds: FileDataset) -> bool:
    """Were the raw elements read as explicit VR little endian, in this character set?"""
    return ds.original_encoding == (False, True) and (
        ds.original_character_set == ds._character_set
    )


def _write_explicit_le(fp: DicomFileLike, fh: object, ds: FileDataset) -> None:
    write = fh.write  # type: ignore[attr-defined]
    charset = ds.get("SpecificCharacterSet", "iso8859")
    for tag in sorted(ds._dict):
        if tag.element == 0 and tag.group > 6:
            continue  # retired group length (PS3.5 7.2)
        elem = ds._dict[tag]
        if (
            isinstance(elem, RawDataElement)
            and elem.VR is not None
            and elem.VR != "SQ"
            and elem.length != 0xFFFFFFFF
            and tag != _PIXEL_DATA
            and isinstance(elem.value, bytes)
        ):
            value = elem.value
            group, element = tag >> 16, tag & 0xFFFF
            if elem.VR in _LONG_VRS:
                write(_LONG.pack(group, element, elem.VR.encode(), len(value)))
            elif len(value) <= 0xFFFF:
                write(_SHORT.pack(group, element, elem.VR.encode(), len(value)))
            else:
                write_data_element(fp, elem, charset)
                continue
            write(value)
        else:
            write_data_element(fp, ds.get_item(tag), charset)
