"""Header attributes that refer to pixel positions stay true after a crop."""

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from anonymizer.pixels import Blackout, Edits, Rect, apply_crop_geometry, apply_edits

from .synthetic import ENHANCED_CT, ULTRASOUND, gradient, new_dataset, reread

# An oblique plane: row direction r and column direction c are orthonormal.
ROW_DIR = (0.6, 0.8, 0.0)
COL_DIR = (0.48, -0.36, 0.8)
SPACING = (0.5, 0.8)  # [row spacing (between rows), column spacing (between columns)]


def _plane(rows: int = 64, columns: int = 80) -> Dataset:
    ds = new_dataset(gradient(1, rows, columns, dtype="int16"), photometric="MONOCHROME2")
    ds.ImagePositionPatient = [-100, 50, 20]
    ds.ImageOrientationPatient = [*ROW_DIR, *COL_DIR]
    ds.PixelSpacing = list(SPACING)
    return ds


def _patient_position(ds_position, column: int, row: int) -> np.ndarray:
    """PS3.3 C.7.6.2.1.1: P = S + r * column spacing * i + c * row spacing * j."""
    return (
        np.array(ds_position, dtype=float)
        + np.array(ROW_DIR) * SPACING[1] * column
        + np.array(COL_DIR) * SPACING[0] * row
    )


def test_image_position_moves_to_the_new_first_pixel_on_an_oblique_plane():
    ds = _plane()
    apply_crop_geometry(ds, Rect(10, 20, 30, 25))
    # by hand: 10 columns * 0.8 mm along r + 20 rows * 0.5 mm along c
    #   = 8 * (0.6, 0.8, 0) + 10 * (0.48, -0.36, 0.8) = (9.6, 2.8, 8.0)
    assert [float(v) for v in ds.ImagePositionPatient] == pytest.approx([-90.4, 52.8, 28.0])
    np.testing.assert_allclose(
        [float(v) for v in ds.ImagePositionPatient], _patient_position([-100, 50, 20], 10, 20)
    )
    assert (ds.Rows, ds.Columns) == (25, 30)
    assert [float(v) for v in ds.PixelSpacing] == list(SPACING)


def test_a_pixel_keeps_its_patient_position_after_a_crop_through_apply_edits():
    ds = _plane()
    apply_edits(ds, Edits(crop=Rect(7, 3, 40, 50)))
    result = reread(ds)
    # pixel (column 12, row 9) of the crop is pixel (19, 12) of the original
    np.testing.assert_allclose(
        _patient_position([float(v) for v in result.ImagePositionPatient], 12, 9),
        _patient_position([-100, 50, 20], 19, 12),
        atol=1e-5,
    )


def _item(**attrs: object) -> Dataset:
    item = Dataset()
    for keyword, value in attrs.items():
        setattr(item, keyword, value)
    return item


def test_enhanced_multiframe_plane_positions_move_per_frame():
    ds = new_dataset(gradient(3, 20, 20, dtype="int16"), photometric="MONOCHROME2")
    ds.SOPClassUID = ENHANCED_CT
    ds.SharedFunctionalGroupsSequence = Sequence(
        [
            _item(
                PixelMeasuresSequence=Sequence([_item(PixelSpacing=[0.5, 0.8])]),
                PlaneOrientationSequence=Sequence(
                    [_item(ImageOrientationPatient=[*ROW_DIR, *COL_DIR])]
                ),
            )
        ]
    )
    frames = []
    for z in range(3):
        group = _item(PlanePositionSequence=Sequence([_item(ImagePositionPatient=[0, 0, z])]))
        frames.append(group)
    # the last frame has its own orientation: identity axes, and its own spacing
    frames[2].PlaneOrientationSequence = Sequence(
        [_item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0])]
    )
    frames[2].PixelMeasuresSequence = Sequence([_item(PixelSpacing=[2, 3])])
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)

    apply_crop_geometry(ds, Rect(10, 20 - 20, 5, 20))  # x=10, y=0
    positions = [
        [float(v) for v in group.PlanePositionSequence[0].ImagePositionPatient]
        for group in ds.PerFrameFunctionalGroupsSequence
    ]
    assert positions[0] == pytest.approx([4.8, 6.4, 0.0])  # 10 * 0.8 * r
    assert positions[1] == pytest.approx([4.8, 6.4, 1.0])
    assert positions[2] == pytest.approx([30.0, 0.0, 2.0])  # 10 * 3 along x


def _us_region(min_x, min_y, max_x, max_y, ref_x=None, ref_y=None) -> Dataset:
    region = _item(
        RegionSpatialFormat=1,
        RegionDataType=1,
        RegionFlags=0,
        RegionLocationMinX0=min_x,
        RegionLocationMinY0=min_y,
        RegionLocationMaxX1=max_x,
        RegionLocationMaxY1=max_y,
        PhysicalUnitsXDirection=3,
        PhysicalUnitsYDirection=3,
        PhysicalDeltaX=0.01,
        PhysicalDeltaY=0.01,
    )
    if ref_x is not None:
        region.ReferencePixelX0 = ref_x
        region.ReferencePixelY0 = ref_y
    return region


def test_ultrasound_regions_are_shifted_clipped_or_removed():
    ds = new_dataset(gradient(1, 480, 640, dtype="uint8"), photometric="MONOCHROME2")
    ds.SOPClassUID, ds.Modality = ULTRASOUND, "US"
    ds.SequenceOfUltrasoundRegions = Sequence(
        [
            _us_region(100, 100, 300, 300, ref_x=100, ref_y=0),  # wholly inside
            _us_region(20, 30, 400, 460, ref_x=300, ref_y=-10),  # clipped at the top left
            _us_region(600, 10, 639, 40),  # wholly outside: removed
        ]
    )
    apply_crop_geometry(ds, Rect(50, 40, 500, 400))  # columns 50..549, rows 40..439
    regions = ds.SequenceOfUltrasoundRegions
    assert len(regions) == 2
    inside, clipped = regions
    assert (
        inside.RegionLocationMinX0,
        inside.RegionLocationMinY0,
        inside.RegionLocationMaxX1,
        inside.RegionLocationMaxY1,
    ) == (50, 60, 250, 260)
    # relative to the region's corner, which did not move relative to its content
    assert (inside.ReferencePixelX0, inside.ReferencePixelY0) == (100, 0)
    assert (
        clipped.RegionLocationMinX0,
        clipped.RegionLocationMinY0,
        clipped.RegionLocationMaxX1,
        clipped.RegionLocationMaxY1,
    ) == (0, 0, 350, 399)
    # the reference point stays at image pixel (320, 20) -> (270, -20) in the crop
    assert (clipped.ReferencePixelX0, clipped.ReferencePixelY0) == (270, -20)


def test_ultrasound_region_sequence_is_removed_when_no_region_is_left():
    ds = new_dataset(gradient(1, 100, 100, dtype="uint8"), photometric="MONOCHROME2")
    ds.SequenceOfUltrasoundRegions = Sequence([_us_region(0, 0, 9, 9)])
    apply_crop_geometry(ds, Rect(50, 50, 50, 50))
    assert "SequenceOfUltrasoundRegions" not in ds


def test_shutters_and_overlay_origin_follow_the_crop():
    ds = new_dataset(gradient(1, 100, 120, dtype="uint16"), photometric="MONOCHROME2")
    ds.ShutterShape = "RECTANGULAR\\CIRCULAR\\POLYGONAL"
    ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge = 5, 110
    ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge = 20, 90
    ds.CenterOfCircularShutter = [50, 60]
    ds.RadiusOfCircularShutter = 40
    ds.VerticesOfThePolygonalShutter = [10, 10, 10, 100, 90, 55]
    ds.add_new(0x60000050, "SS", [1, 1])  # Overlay Origin (row, column), 1-based
    apply_crop_geometry(ds, Rect(10, 15, 80, 70))
    assert (ds.ShutterLeftVerticalEdge, ds.ShutterRightVerticalEdge) == (1, 80)
    assert (ds.ShutterUpperHorizontalEdge, ds.ShutterLowerHorizontalEdge) == (5, 70)
    assert list(ds.CenterOfCircularShutter) == [35, 50]
    assert list(ds.VerticesOfThePolygonalShutter) == [-5, 0, -5, 90, 75, 45]
    assert list(ds[0x60000050].value) == [-14, -9]


def test_crop_outside_the_image_is_refused():
    with pytest.raises(ValueError, match="crop rectangle 70,0 20x10 lies outside the 80x64 image"):
        apply_crop_geometry(_plane(), Rect(70, 0, 20, 10))


def test_crop_with_blackout_updates_ultrasound_regions_end_to_end():
    ds = new_dataset(gradient(2, 60, 80, dtype="uint8", samples=3), photometric="RGB")
    ds.SequenceOfUltrasoundRegions = Sequence([_us_region(10, 10, 70, 50, ref_x=30, ref_y=0)])
    apply_edits(ds, Edits((Blackout(Rect(0, 0, 80, 8)),), crop=Rect(5, 8, 70, 50)))
    result = reread(ds)
    region = result.SequenceOfUltrasoundRegions[0]
    assert (region.RegionLocationMinX0, region.RegionLocationMinY0) == (5, 2)
    assert (region.RegionLocationMaxX1, region.RegionLocationMaxY1) == (65, 42)
    assert (region.ReferencePixelX0, region.ReferencePixelY0) == (30, 0)
