"""A synthetic evaluation set of DICOM images with planted burned-in text (issue 8).

``generate`` builds the images and their ground truth; ``metrics`` scores a detector's
proposals against it; ``bench.burned_text_bench`` runs the whole set.

Splits: seeds below 1000 form the "tune" split, seeds from 1000 up the "holdout" split.
Thresholds and heuristics may be tuned on "tune" only; "holdout" is measured, never tuned on.
"""
