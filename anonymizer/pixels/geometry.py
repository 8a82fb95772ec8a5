"""Keep header attributes that refer to pixel positions true after a crop.

What ``apply_crop_geometry`` updates, and why:

* Rows, Columns (PS3.3 C.7.6.3): the crop's size.
* Image Position (Patient) (PS3.3 C.7.6.2.1.1): moved to the centre of the new first pixel,
  ``x * column spacing`` along the row direction cosine (first triplet of Image Orientation
  (Patient): the direction of increasing column index) plus ``y * row spacing`` along the
  column direction cosine (second triplet). Pixel Spacing is ``[row spacing, column
  spacing]``. Done at the top level and, for enhanced multi-frame images (PS3.3 C.7.6.16),
  in every Plane Position Sequence of the Per-frame and Shared Functional Groups, with the
  orientation and spacing taken from the same frame's groups or else the shared ones. Plane
  Position (Volume) (Image Position (Volume), with Image Orientation (Volume)) is treated alike.
  An image without orientation or spacing keeps its position (logged), since none can be
  computed; Slice Location does not change (a crop stays in the same plane).
* Sequence of Ultrasound Regions (PS3.3 C.8.5.5): Region Location Min/Max x0/y0/x1/y1 are
  shifted and clipped to the crop; a region wholly outside is removed (and the sequence with
  it if none remain). Reference Pixel x0/y0 is an offset from the region's Min x0/y0, not from
  the image origin (C.8.5.5.1.16), so it changes only when clipping moves the region's corner;
  the reference point keeps its place in the image. TM-Line and Doppler Sample Volume
  positions are displacements from the reference pixel and so need no change.
* Display Shutter (PS3.3 C.7.6.11): rectangular edges shifted and clipped; circle centre and
  polygon vertices shifted (1-based row\\column values).
* Overlay Origin (60xx,0050): shifted so a kept overlay stays aligned. Overlays are removed by
  the header profile anyway; overlay bits outside the crop are not trimmed here.

Not changed: Pixel Spacing, Imager Pixel Spacing, Pixel Aspect Ratio, Frame of Reference;
Displayed Area Selection and graphic annotations live in presentation states, which are not
published; Field of View Origin (DX/XA) is in detector pixels, not image pixels; Icon Image
Sequence is a separate image (the header profile must remove it, as it is never cropped or
redacted here); shutters inside enhanced XA functional groups are not handled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pydicom.dataset import Dataset
from pydicom.valuerep import format_number_as_ds

from anonymizer.pixels.regions import Rect

__all__ = ["apply_crop_geometry"]

logger = logging.getLogger(__name__)


def apply_crop_geometry(ds: Dataset, crop: Rect) -> None:
    """Update, in place, every attribute above for cropping the stored image to ``crop``."""
    rows, columns = int(ds.Rows), int(ds.Columns)
    if not crop.fits(columns, rows):
        raise ValueError(f"crop rectangle {crop} lies outside the {columns}x{rows} image")
    ds.Rows, ds.Columns = crop.height, crop.width

    _move_position(ds, "ImagePositionPatient", ds, ds, crop, "ImageOrientationPatient")
    _move_enhanced_positions(ds, crop)
    _crop_ultrasound_regions(ds, crop)
    _crop_shutters(ds, crop)
    _move_overlays(ds, crop)


def _shift(
    position: Sequence[float],
    orientation: Sequence[float],
    spacing: Sequence[float],
    crop: Rect,
) -> list[str]:
    row_dir, col_dir = [float(v) for v in orientation[:3]], [float(v) for v in orientation[3:6]]
    row_spacing, column_spacing = float(spacing[0]), float(spacing[1])
    moved = [
        float(p) + crop.x * column_spacing * r + crop.y * row_spacing * c
        for p, r, c in zip(position, row_dir, col_dir, strict=True)
    ]
    return [format_number_as_ds(round(v, 6) + 0.0) for v in moved]


def _first_item(ds: Dataset | None, keyword: str) -> Dataset | None:
    if ds is None:
        return None
    seq = ds.get(keyword)
    return seq[0] if seq else None


def _move_position(
    holder: Dataset | None,
    position_keyword: str,
    orientation_holder: Dataset | None,
    spacing_holder: Dataset | None,
    crop: Rect,
    orientation_keyword: str,
) -> None:
    if holder is None or not holder.get(position_keyword):
        return
    orientation = orientation_holder.get(orientation_keyword) if orientation_holder else None
    spacing = spacing_holder.get("PixelSpacing") if spacing_holder else None
    if not orientation or len(orientation) != 6 or not spacing or len(spacing) != 2:
        logger.warning("%s kept: no orientation or pixel spacing to move it", position_keyword)
        return
    holder[position_keyword].value = _shift(
        holder[position_keyword].value, orientation, spacing, crop
    )


def _move_enhanced_positions(ds: Dataset, crop: Rect) -> None:
    shared = _first_item(ds, "SharedFunctionalGroupsSequence")
    groups: list[Dataset] = list(ds.get("PerFrameFunctionalGroupsSequence") or [])
    if shared is not None:
        groups.append(shared)
    for group in groups:
        measures = _first_item(group, "PixelMeasuresSequence") or _first_item(
            shared, "PixelMeasuresSequence"
        )
        for position_seq, orientation_seq, position_kw, orientation_kw in (
            (
                "PlanePositionSequence",
                "PlaneOrientationSequence",
                "ImagePositionPatient",
                "ImageOrientationPatient",
            ),
            (
                "PlanePositionVolumeSequence",
                "PlaneOrientationVolumeSequence",
                "ImagePositionVolume",
                "ImageOrientationVolume",
            ),
        ):
            orientation = _first_item(group, orientation_seq) or _first_item(
                shared, orientation_seq
            )
            _move_position(
                _first_item(group, position_seq),
                position_kw,
                orientation,
                measures,
                crop,
                orientation_kw,
            )


def _crop_ultrasound_regions(ds: Dataset, crop: Rect) -> None:
    regions = ds.get("SequenceOfUltrasoundRegions")
    if not regions:
        return
    last_x, last_y = crop.width - 1, crop.height - 1
    kept = []
    for region in regions:
        min_x = int(region.RegionLocationMinX0) - crop.x
        min_y = int(region.RegionLocationMinY0) - crop.y
        max_x = int(region.RegionLocationMaxX1) - crop.x
        max_y = int(region.RegionLocationMaxY1) - crop.y
        if max_x < 0 or max_y < 0 or min_x > last_x or min_y > last_y:
            continue  # wholly outside the crop
        new_min_x, new_min_y = max(min_x, 0), max(min_y, 0)
        region.RegionLocationMinX0, region.RegionLocationMinY0 = new_min_x, new_min_y
        region.RegionLocationMaxX1, region.RegionLocationMaxY1 = (
            min(max_x, last_x),
            min(max_y, last_y),
        )
        # Reference pixel is relative to the region's Min corner: keep it at the same place.
        if "ReferencePixelX0" in region:
            region.ReferencePixelX0 = int(region.ReferencePixelX0) - (new_min_x - min_x)
        if "ReferencePixelY0" in region:
            region.ReferencePixelY0 = int(region.ReferencePixelY0) - (new_min_y - min_y)
        kept.append(region)
    if kept:
        ds.SequenceOfUltrasoundRegions = kept
    else:
        del ds.SequenceOfUltrasoundRegions


def _crop_shutters(ds: Dataset, crop: Rect) -> None:
    # Shutter values are 1-based (row 1, column 1 is the top left pixel).
    def clip(value: int, size: int) -> int:
        return min(max(value, 1), size)

    if "ShutterLeftVerticalEdge" in ds:
        ds.ShutterLeftVerticalEdge = clip(int(ds.ShutterLeftVerticalEdge) - crop.x, crop.width)
    if "ShutterRightVerticalEdge" in ds:
        ds.ShutterRightVerticalEdge = clip(int(ds.ShutterRightVerticalEdge) - crop.x, crop.width)
    if "ShutterUpperHorizontalEdge" in ds:
        ds.ShutterUpperHorizontalEdge = clip(
            int(ds.ShutterUpperHorizontalEdge) - crop.y, crop.height
        )
    if "ShutterLowerHorizontalEdge" in ds:
        ds.ShutterLowerHorizontalEdge = clip(
            int(ds.ShutterLowerHorizontalEdge) - crop.y, crop.height
        )
    if ds.get("CenterOfCircularShutter"):
        row, column = (int(v) for v in ds.CenterOfCircularShutter)
        ds.CenterOfCircularShutter = [row - crop.y, column - crop.x]
    if ds.get("VerticesOfThePolygonalShutter"):
        values = [int(v) for v in ds.VerticesOfThePolygonalShutter]
        ds.VerticesOfThePolygonalShutter = [
            v - (crop.y if i % 2 == 0 else crop.x) for i, v in enumerate(values)
        ]


def _move_overlays(ds: Dataset, crop: Rect) -> None:
    for group in range(0x6000, 0x6020, 2):
        tag = (group << 16) | 0x0050
        if tag in ds and ds[tag].value:
            row, column = (int(v) for v in ds[tag].value)
            ds[tag].value = [row - crop.y, column - crop.x]
