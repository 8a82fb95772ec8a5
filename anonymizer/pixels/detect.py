"""Which images may carry burned-in text (header only), and where the text is.

PS3.15 E.1-1 (Clean Pixel Data Option) and PS3.15 E.3.1 note that the header cannot be trusted
to say whether identifying text is burned into the pixels: Burned In Annotation (0028,0301) is
often absent or wrong on ultrasound, secondary capture and photographic images. So
``burned_in_text_reasons`` flags by class and modality as well, and ``propose_regions`` boxes
every piece of text a learned detector finds (:mod:`anonymizer.pixels.textdetect`), whether or
not it can be read. Tesseract only labels those boxes (``read_text`` and ``label_regions``:
"matches PatientName"); it never decides what is proposed. The reviewer decides, and the
publish verifier looks at the output again with a method of its own.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.uid import UID

from anonymizer.pixels.codecs import decode_frame
from anonymizer.pixels.ocr import Word, ocr_array
from anonymizer.pixels.regions import ProposedRegion
from anonymizer.pixels.textdetect import TextBox, detect_text, merge_boxes

__all__ = [
    "HIGH_RISK_MODALITIES",
    "HIGH_RISK_SOP_CLASSES",
    "ReadText",
    "burned_in_text_reasons",
    "display_frame",
    "label_regions",
    "propose_regions",
    "read_text",
    "renderings",
    "sample_frames",
]

#: Modalities whose images routinely carry burned-in text (PS3.3 C.7.3.1.1.1 defined terms).
HIGH_RISK_MODALITIES = frozenset(
    {"US", "IVUS", "SC", "XA", "RF", "OT", "ES", "XC", "DOC", "OP", "SM", "GM"}
)

#: Storage SOP classes (PS3.4 B.5) of screen captures, ultrasound, angiography/fluoroscopy and
#: visible-light photographs, which routinely carry burned-in text or slide labels.
HIGH_RISK_SOP_CLASSES = frozenset(
    UID(uid)
    for uid in (
        "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
        "1.2.840.10008.5.1.4.1.1.7.1",  # Multi-frame Single Bit SC
        "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
        "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
        "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
        "1.2.840.10008.5.1.4.1.1.6",  # Ultrasound (retired)
        "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound
        "1.2.840.10008.5.1.4.1.1.6.2",  # Enhanced US Volume
        "1.2.840.10008.5.1.4.1.1.3",  # Ultrasound Multi-frame (retired)
        "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame
        "1.2.840.10008.5.1.4.1.1.12.1",  # X-Ray Angiographic
        "1.2.840.10008.5.1.4.1.1.12.1.1",  # Enhanced XA
        "1.2.840.10008.5.1.4.1.1.12.2",  # X-Ray Radiofluoroscopic
        "1.2.840.10008.5.1.4.1.1.12.2.1",  # Enhanced XRF
        "1.2.840.10008.5.1.4.1.1.12.3",  # XA Bi-plane (retired)
        "1.2.840.10008.5.1.4.1.1.77.1.1",  # VL Endoscopic
        "1.2.840.10008.5.1.4.1.1.77.1.1.1",  # Video Endoscopic
        "1.2.840.10008.5.1.4.1.1.77.1.2",  # VL Microscopic
        "1.2.840.10008.5.1.4.1.1.77.1.2.1",  # Video Microscopic
        "1.2.840.10008.5.1.4.1.1.77.1.3",  # VL Slide-Coordinates Microscopic
        "1.2.840.10008.5.1.4.1.1.77.1.4",  # VL Photographic
        "1.2.840.10008.5.1.4.1.1.77.1.4.1",  # Video Photographic
        "1.2.840.10008.5.1.4.1.1.77.1.5.1",  # Ophthalmic Photography 8 Bit
        "1.2.840.10008.5.1.4.1.1.77.1.5.2",  # Ophthalmic Photography 16 Bit
        "1.2.840.10008.5.1.4.1.1.77.1.6",  # VL Whole Slide Microscopy (slide labels)
        "1.2.840.10008.5.1.4.1.1.77.1.7",  # Dermoscopic Photography
    )
)
_SECONDARY_CAPTURE_CLASSES = frozenset(u for u in HIGH_RISK_SOP_CLASSES if ".1.1.7" in u)

_COLOUR_PHOTOMETRICS = ("RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL")


def _text(ds: Dataset, keyword: str) -> str:
    return str(ds.get(keyword, "") or "").strip().upper()


def burned_in_text_reasons(ds: Dataset) -> list[str]:
    """Plain-English reasons to review this image's pixels for text; [] if none.

    Reads the header only (cheap; Pixel Data is not decoded, so ``stop_before_pixels``
    data sets work).
    """
    reasons: list[str] = []
    modality = _text(ds, "Modality")
    sop_class = UID(str(ds.get("SOPClassUID", "") or ""))
    photometric = _text(ds, "PhotometricInterpretation")
    image_type = [str(v).strip().upper() for v in (ds.get("ImageType") or [])]
    burned_in = _text(ds, "BurnedInAnnotation")

    if burned_in == "YES":
        reasons.append("Burned In Annotation (0028,0301) is YES.")
    high_risk = False
    if modality in HIGH_RISK_MODALITIES:
        high_risk = True
        reasons.append(f"Modality {modality} images often have text burned into the pixels.")
    if sop_class in HIGH_RISK_SOP_CLASSES:
        high_risk = True
        reasons.append(f"{sop_class.name} images often have text burned into the pixels.")
    if high_risk and burned_in not in ("YES", "NO"):
        if burned_in:
            reasons.append(f"Burned In Annotation (0028,0301) has the unknown value {burned_in}.")
        else:
            reasons.append("Burned In Annotation (0028,0301) is absent.")
    is_colour = photometric.startswith(_COLOUR_PHOTOMETRICS)
    if is_colour and int(ds.get("NumberOfFrames") or 1) > 1:
        reasons.append("Multi-frame colour images (cines, video) often carry text overlays.")
    elif is_colour:
        reasons.append(f"Colour ({photometric}) images are usually captures or photographs.")
    shown_type = "\\".join(image_type)
    if (modality in ("SC", "OT") or sop_class in _SECONDARY_CAPTURE_CLASSES) and (
        "SECONDARY" in image_type or "DERIVED" in image_type
    ):
        reasons.append(f"Image Type {shown_type} marks a derived or secondary capture.")
    elif any("SCREEN" in v for v in image_type):
        reasons.append(f"Image Type {shown_type} marks a screen capture.")
    if _text(ds, "RecognizableVisualFeatures") == "YES":
        reasons.append("Recognizable Visual Features (0028,0302) is YES.")
    return reasons


def sample_frames(number_of_frames: int, max_frames: int) -> list[int]:
    """First, last and evenly spaced frames between, at most ``max_frames`` of them."""
    if number_of_frames <= 0 or max_frames <= 0:
        return []
    count = min(number_of_frames, max_frames)
    if count == 1:
        return [0]
    picks = np.linspace(0, number_of_frames - 1, count)
    return sorted({math.floor(float(p) + 0.5) for p in picks})


def display_frame(frame: np.ndarray, ds: Dataset, photometric: str) -> np.ndarray:
    """A decoded frame as 8-bit greyscale roughly as a viewer shows it (text stays bright).

    Monochrome: Modality LUT/rescale, then the first window or VOI LUT if any, then a
    min-max stretch; MONOCHROME1 is inverted. Colour and palette images: the brightest
    sample of each pixel, so coloured text stays as bright as white text.
    """
    if photometric == "PALETTE COLOR":
        frame = apply_color_lut(frame, ds)[..., :3]
    if frame.ndim == 3:
        values = frame.max(axis=-1).astype(np.float64)
    else:
        values = frame.astype(np.float64)
        try:
            values = np.asarray(apply_modality_lut(frame, ds), dtype=np.float64)
            if "WindowCenter" in ds or "VOILUTSequence" in ds:
                values = np.asarray(apply_voi_lut(values, ds), dtype=np.float64)
        except (ValueError, TypeError, AttributeError, IndexError, KeyError):
            values = frame.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    out = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    if photometric == "MONOCHROME1":
        out = 255.0 - out
    shown: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return shown


@dataclass(frozen=True)
class _Line:
    left: int
    top: int
    right: int
    bottom: int
    text: str
    confidence: float


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _merge_words(words: list[Word]) -> list[list[Word]]:
    """Group words on the same text line: overlapping vertically, gaps under 1.5 x height."""
    lines: list[list[Word]] = []
    for word in sorted(words, key=lambda w: (w.left, w.top)):
        for line in lines:
            last = line[-1]
            overlap = min(last.bottom, word.bottom) - max(last.top, word.top)
            gap = word.left - last.right
            height = max(last.height, word.height)
            if overlap >= 0.5 * min(last.height, word.height) and -height <= gap <= 1.5 * height:
                line.append(word)
                break
        else:
            lines.append([word])
    return lines


def _ocr_lines(
    image: np.ndarray, *, min_confidence: float, min_word_confidence: float, pad: int
) -> list[_Line]:
    rows, columns = image.shape
    scale = 2 if max(rows, columns) <= 1024 else 1
    ocr_input = image
    if scale > 1:
        resized = Image.fromarray(image).resize(
            (columns * scale, rows * scale), Image.Resampling.LANCZOS
        )
        ocr_input = np.asarray(resized)
    if float(ocr_input.mean()) < 128:
        ocr_input = 255 - ocr_input  # tesseract reads dark text on a light page best
    words = [
        w
        for w in ocr_array(np.ascontiguousarray(ocr_input))
        if w.confidence >= min_word_confidence and _alnum(w.text) >= 1
    ]
    lines = []
    for group in _merge_words(words):
        text = " ".join(w.text for w in group)
        chars = _alnum(text)
        weights = [max(_alnum(w.text), 1) for w in group]
        confidence = sum(w.confidence * k for w, k in zip(group, weights, strict=True)) / sum(
            weights
        )
        # Speckle and texture give short "words" at up to ~65; demand more of short text.
        needed = min_confidence + (10 if chars <= 3 else 0)
        if chars < 2 or confidence < needed:
            continue
        left = max(math.floor(min(w.left for w in group) / scale) - pad, 0)
        top = max(math.floor(min(w.top for w in group) / scale) - pad, 0)
        right = min(math.ceil(max(w.right for w in group) / scale) + pad, columns)
        bottom = min(math.ceil(max(w.bottom for w in group) / scale) + pad, rows)
        # Rendered text is two-toned (ink and background); speckle read as letters is not.
        if confidence < _SURE and _separability(image[top:bottom, left:right]) < _TWO_TONED:
            continue
        lines.append(_Line(left, top, right, bottom, text, confidence))
    return lines


#: Otsu's separability (between-class / total variance) of a box of rendered text is ~0.9;
#: ultrasound speckle that tesseract reads as letters scores 0.6-0.7.
_TWO_TONED = 0.8
#: Readings this confident are kept even on a textured background.
_SURE = 90.0


def _separability(box: np.ndarray) -> float:
    """Otsu's criterion: the best between-class variance over the total variance (0..1)."""
    hist = np.bincount(box.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 0.0
    p = hist / total
    levels = np.arange(256, dtype=np.float64)
    mean = float(p @ levels)
    variance = float(p @ (levels - mean) ** 2)
    if variance == 0:
        return 0.0
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * levels)
    w1 = 1.0 - w0
    valid = (w0 > 0) & (w1 > 0)
    between = np.zeros_like(w0)
    between[valid] = (mean * w0[valid] - m0[valid]) ** 2 / (w0[valid] * w1[valid])
    return float(between.max() / variance)


#: Frames of a multi-frame image that the detector reads, besides their temporal median.
MAX_DETECTION_FRAMES = 8
#: Frames that tesseract reads to label the boxes (it never decides what is proposed).
MAX_OCR_FRAMES = 3


def renderings(frame: np.ndarray, ds: Dataset, photometric: str) -> list[np.ndarray]:
    """The 8-bit views of a decoded frame in which text is looked for.

    Colour and palette images: their RGB colours. Greyscale up to 8 bits: one min-max
    view. Deeper greyscale: the header's window (what a viewer shows first), the full
    stored range (text burned at the maximum value) and a 0.5-99.5 percentile stretch
    (text a few values above the tissue around it, which a trainee could bring out by
    changing the window). MONOCHROME1 is inverted, so text is bright on dark in each.
    """
    if photometric == "PALETTE COLOR":
        frame = apply_color_lut(frame, ds)[..., :3]
    if frame.ndim == 3:
        rgb = frame.astype(np.float64)
        top = float(rgb.max())
        scale = 255.0 / top if top > 255 else 1.0
        return [np.clip(np.rint(rgb * scale), 0, 255).astype(np.uint8)]
    views = [display_frame(frame, ds, photometric)]
    if int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8) <= 8:
        return views
    values = frame.astype(np.float64)
    full = _stretch(values, float(values.min()), float(values.max()), photometric)
    low, high = (float(v) for v in np.percentile(values, (0.5, 99.5)))
    views += [full, _stretch(values, low, high, photometric)]
    return views


def _stretch(values: np.ndarray, low: float, high: float, photometric: str) -> np.ndarray:
    out = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    if photometric == "MONOCHROME1":
        out = 255.0 - out
    shown: np.ndarray = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return shown


def _outside_ultrasound_regions(ds: Dataset, rows: int, columns: int) -> list[TextBox]:
    """The bands outside the Sequence of Ultrasound Regions (PS3.3 C.8.5.5): the scanner
    writes its header, patient and settings there, never anatomy."""
    regions = ds.get("SequenceOfUltrasoundRegions") or []
    spans = []
    for item in regions:
        try:
            x0, y0 = int(item.RegionLocationMinX0), int(item.RegionLocationMinY0)
            x1, y1 = int(item.RegionLocationMaxX1) + 1, int(item.RegionLocationMaxY1) + 1
        except (AttributeError, TypeError, ValueError):
            continue
        if 0 <= x0 < x1 and 0 <= y0 < y1:
            spans.append((x0, y0, min(x1, columns), min(y1, rows)))
    if not spans:
        return []
    x0 = min(s[0] for s in spans)
    y0 = min(s[1] for s in spans)
    x1 = max(s[2] for s in spans)
    y1 = max(s[3] for s in spans)
    bands = [
        (0, 0, columns, y0),  # above
        (0, y1, columns, rows),  # below
        (0, y0, x0, y1),  # left
        (x1, y0, columns, y1),  # right
    ]
    return [TextBox(a, b, c, d, 1.0) for a, b, c, d in bands if c - a >= 2 and d - b >= 2]


def _projections(ds: Dataset, number_of_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The per-pixel maximum and minimum over every frame (decoded one at a time)."""
    first, _ = decode_frame(ds, 0)
    high, low = first.copy(), first.copy()
    for index in range(1, number_of_frames):
        frame, _ = decode_frame(ds, index)
        np.maximum(high, frame, out=high)
        np.minimum(low, frame, out=low)
    return high, low


def _has_content(views: list[np.ndarray], box: TextBox) -> bool:
    """True if something stands out of the background in ``box`` on any view: at least
    0.1 % of its pixels 32 levels away from its median (compression ringing stays under)."""
    for view in views:
        part = view[box.y0 : box.y1, box.x0 : box.x1].astype(np.int16)
        if not part.size:
            continue
        away = np.abs(part - np.median(part, axis=(0, 1))) > 32
        share = float((away.any(axis=-1) if away.ndim == 3 else away).mean())
        if share >= 0.001:
            return True
    return False


def propose_regions(ds: Dataset, *, max_frames: int = MAX_DETECTION_FRAMES) -> list[ProposedRegion]:
    """Boxes over every piece of text the detector finds, in stored-pixel coordinates.

    Single-frame images: each rendering of the frame (``renderings``) is read by the text
    detector. Multi-frame images: the temporal median of up to ``max_frames`` sampled
    frames (burned-in text does not move while the anatomy does, so it stays sharp there:
    ``kind`` "static-overlay") and each sampled frame; every box of a multi-frame image
    applies to every frame, since text that the sample caught on one frame is usually on
    others too. Ultrasound images with a Sequence of Ultrasound Regions also get the bands
    outside the regions that hold anything (``kind`` "outside-ultrasound-regions").
    Boxes are grown to whole lines and merged into bands. No text is recognised here.

    Raises :class:`DetectorUnavailable` when the detection model cannot be loaded.
    """
    number_of_frames = int(ds.get("NumberOfFrames") or 1)
    indices = sample_frames(number_of_frames, max_frames)
    decoded = [decode_frame(ds, index) for index in indices]
    rows, columns = decoded[0][0].shape[:2]
    found: list[tuple[str, TextBox]] = []
    all_views: list[np.ndarray] = []
    for frame, photometric in decoded:
        views = renderings(frame, ds, photometric)
        all_views += views
        found += [("text", box) for view in views for box in detect_text(view)]
    if len(decoded) > 2:
        stack = np.stack([frame for frame, _ in decoded])
        median = np.median(stack, axis=0).astype(stack.dtype)
        for view in renderings(median, ds, decoded[0][1]):
            found += [("static-overlay", box) for box in detect_text(view)]
    if number_of_frames > len(indices):
        # Text on a frame the sample missed still shows in the brightest or darkest value
        # each pixel takes over all frames.
        for projection in _projections(ds, number_of_frames):
            for view in renderings(projection, ds, decoded[0][1]):
                found += [("text", box) for box in detect_text(view)]
    for band in _outside_ultrasound_regions(ds, rows, columns):
        if _has_content(all_views, band):
            found.append(("outside-ultrasound-regions", band))

    regions: list[ProposedRegion] = []
    for kind in ("outside-ultrasound-regions", "static-overlay", "text"):
        boxes = [box for k, box in found if k == kind]
        if kind != "outside-ultrasound-regions":  # those bands stay as the header says
            boxes = merge_boxes([_padded(box, rows, columns) for box in boxes])
        for box in boxes:
            if kind != "outside-ultrasound-regions" and any(_inside(box, r) for r in regions):
                continue
            regions.append(
                ProposedRegion(
                    frame=None,
                    x=box.x0,
                    y=box.y0,
                    width=box.x1 - box.x0,
                    height=box.y1 - box.y0,
                    kind=kind,
                    confidence=round(box.score, 2),
                )
            )
    regions.sort(key=lambda r: (r.y, r.x))
    return regions


def _padded(box: TextBox, rows: int, columns: int) -> TextBox:
    """A margin for anti-aliased edges, descenders and the last glyph of a line: 2 pixels
    plus a sixth of the height above and below, a third of it left and right; and up to
    the image's edge when the line comes close to it."""
    pad_y = 2 + box.height // 6
    pad_x = 2 + box.height // 3
    x0, y0 = box.x0 - pad_x, box.y0 - pad_y
    x1, y1 = box.x1 + pad_x, box.y1 + pad_y
    # Text within a line height of the image's edge may run over it: box it to the edge.
    near = box.height
    return TextBox(
        0 if x0 < near else x0,
        0 if y0 < near // 2 else y0,
        columns if x1 > columns - near else x1,
        rows if y1 > rows - near // 2 else y1,
        box.score,
    )


def _inside(box: TextBox, region: ProposedRegion) -> bool:
    return (
        box.x0 >= region.x
        and box.y0 >= region.y
        and box.x1 <= region.x + region.width
        and box.y1 <= region.y + region.height
    )


@dataclass(frozen=True)
class ReadText:
    """A line tesseract read: kept in memory only, to label boxes, never stored."""

    frame: int | None
    x: int
    y: int
    width: int
    height: int
    text: str


def read_text(
    ds: Dataset,
    *,
    max_frames: int = MAX_OCR_FRAMES,
    min_confidence: float = 60.0,
    min_word_confidence: float = 40.0,
    pad: int = 3,
) -> list[ReadText]:
    """Lines tesseract reads on a few frames (their text stays in memory, for labels)."""
    number_of_frames = int(ds.get("NumberOfFrames") or 1)
    lines: list[ReadText] = []
    for index in sample_frames(number_of_frames, max_frames):
        frame, photometric = decode_frame(ds, index)
        image = display_frame(frame, ds, photometric)
        for line in _ocr_lines(
            image, min_confidence=min_confidence, min_word_confidence=min_word_confidence, pad=pad
        ):
            lines.append(
                ReadText(
                    frame=None,
                    x=line.left,
                    y=line.top,
                    width=line.right - line.left,
                    height=line.bottom - line.top,
                    text=line.text,
                )
            )
    return lines


def label_regions(
    regions: list[ProposedRegion],
    labelled: list[tuple[int | None, int, int, int, int, str]],
) -> list[ProposedRegion]:
    """Name the identifying attribute read inside each box: ``labelled`` holds
    (frame, x, y, width, height, keyword) of text that matched the file's identifiers.
    Labelled text that no box covers becomes a box of its own (a box is never dropped)."""
    out: list[ProposedRegion] = []
    used: set[int] = set()
    for region in regions:
        matches = None
        for number, (_, x, y, width, height, keyword) in enumerate(labelled):
            if _overlap(region, x, y, width, height) >= 0.5 * width * height:
                used.add(number)
                matches = matches or keyword
        out.append(dataclasses.replace(region, matches=matches))
    for number, (_, x, y, width, height, keyword) in enumerate(labelled):
        if number not in used and width > 0 and height > 0:
            out.append(
                ProposedRegion(
                    frame=None,
                    x=x,
                    y=y,
                    width=width,
                    height=height,
                    kind="text",
                    confidence=1.0,
                    matches=keyword,
                )
            )
    return out


def _overlap(region: ProposedRegion, x: int, y: int, width: int, height: int) -> int:
    w = min(region.x + region.width, x + width) - max(region.x, x)
    h = min(region.y + region.height, y + height) - max(region.y, y)
    return max(w, 0) * max(h, 0)
