"""Which images may carry burned-in text (header only), and where the text is (OCR).

PS3.15 E.1-1 (Clean Pixel Data Option) and PS3.15 E.3.1 note that the header cannot be trusted
to say whether identifying text is burned into the pixels: Burned In Annotation (0028,0301) is
often absent or wrong on ultrasound, secondary capture and photographic images. So
``burned_in_text_reasons`` flags by class and modality as well, and ``propose_regions`` gives a
reviewer OCR boxes to start from; the reviewer decides.
"""

from __future__ import annotations

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

__all__ = [
    "HIGH_RISK_MODALITIES",
    "HIGH_RISK_SOP_CLASSES",
    "burned_in_text_reasons",
    "display_frame",
    "propose_regions",
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

    def iou(self, other: _Line) -> float:
        width = min(self.right, other.right) - max(self.left, other.left)
        height = min(self.bottom, other.bottom) - max(self.top, other.top)
        if width <= 0 or height <= 0:
            return 0.0
        inter = width * height
        union = (
            (self.right - self.left) * (self.bottom - self.top)
            + (other.right - other.left) * (other.bottom - other.top)
            - inter
        )
        return inter / union


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


def propose_regions(
    ds: Dataset,
    *,
    max_frames: int = 5,
    min_confidence: float = 60.0,
    min_word_confidence: float = 40.0,
    pad: int = 3,
) -> list[ProposedRegion]:
    """OCR boxes of likely burned-in text, in stored-pixel coordinates, for a reviewer.

    Decodes one frame (single-frame) or a sample of frames (first, last, evenly spaced; at most
    ``max_frames``), renders each as 8-bit greyscale (``display_frame``), upscales images up to
    1024 pixels x2 for tesseract, and merges word boxes into line boxes padded by ``pad``
    pixels. A line found at (nearly) the same place (IoU >= 0.5) on every sampled frame gets
    ``frame=None``; others carry their frame index. Lines need >= 2 letters or digits and a
    mean word confidence of ``min_confidence`` (10 more for text of 2-3 characters).
    """
    number_of_frames = int(ds.get("NumberOfFrames") or 1)
    frames = sample_frames(number_of_frames, max_frames)
    found: dict[int, list[_Line]] = {}
    for index in frames:
        frame, photometric = decode_frame(ds, index)
        image = display_frame(frame, ds, photometric)
        found[index] = _ocr_lines(
            image, min_confidence=min_confidence, min_word_confidence=min_word_confidence, pad=pad
        )

    # Cluster lines across frames by position.
    clusters: list[list[tuple[int, _Line]]] = []
    for index in frames:
        for line in found[index]:
            for cluster in clusters:
                if all(i != index for i, _ in cluster) and any(
                    line.iou(other) >= 0.5 for _, other in cluster
                ):
                    cluster.append((index, line))
                    break
            else:
                clusters.append([(index, line)])

    regions: list[ProposedRegion] = []
    for cluster in clusters:
        everywhere = {i for i, _ in cluster} == set(frames)
        members = [(None, _union(cluster))] if everywhere else cluster
        for frame_index, line in members:
            regions.append(
                ProposedRegion(
                    frame=frame_index,
                    x=line.left,
                    y=line.top,
                    width=line.right - line.left,
                    height=line.bottom - line.top,
                    text=line.text,
                    confidence=round(line.confidence, 1),
                )
            )
    regions.sort(key=lambda r: (-1 if r.frame is None else r.frame, r.y, r.x))
    return regions


def _union(cluster: list[tuple[int, _Line]]) -> _Line:
    best = max((line for _, line in cluster), key=lambda line: line.confidence)
    return _Line(
        left=min(line.left for _, line in cluster),
        top=min(line.top for _, line in cluster),
        right=max(line.right for _, line in cluster),
        bottom=max(line.bottom for _, line in cluster),
        text=best.text,
        confidence=best.confidence,
    )
