"""Fixtures for the pixel tests (pure unit tests: no Django, no database)."""

import pytest

from anonymizer.pixels.ocr import tesseract_available
from tests.conftest import require


@pytest.fixture
def tesseract() -> None:
    """OCR tests skip on a developer machine without tesseract, and fail under CI."""
    require(tesseract_available(), "the tesseract binary (apt: tesseract-ocr tesseract-ocr-eng)")
