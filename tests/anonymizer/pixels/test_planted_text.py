"""Accepting every proposal blacks out planted text; text-free images get almost nothing.

The images come from the planted-text evaluation set (``bench.text_eval``, "tune" split),
scaled down; ``python -m bench.burned_text_bench`` measures the whole set.
"""

import pytest

from anonymizer.pixels.detect import propose_regions
from anonymizer.pixels.redact import apply_edits
from bench.text_eval.generate import plan
from bench.text_eval.metrics import boxes_of, edits_of, score

from .planted import TEXT_FREE_SEEDS, TEXT_SEEDS, label, planted

#: Known shortfalls of the detector, held to a looser bound so that they cannot get worse
#: unnoticed (the residual text gate at publish is the control for them; see ADR 0003).
KNOWN_MISSES = {2: 0.97}  # a lone half letter cut by the image's edge is not detected
KNOWN_FALSE_ALARMS = {24: 0.05}  # winding vessels of an angiography cine look like lines


def test_the_subset_has_text_of_every_kind_and_text_free_images() -> None:
    assert all(plan(seed)[1] for seed in TEXT_SEEDS)
    assert not any(plan(seed)[1] for seed in TEXT_FREE_SEEDS)
    assert len({plan(seed)[0] for seed in TEXT_SEEDS}) == len(TEXT_SEEDS)
    assert all(seed < 1000 for seed in TEXT_SEEDS + TEXT_FREE_SEEDS)  # never the holdout


@pytest.mark.parametrize("seed", TEXT_SEEDS, ids=label)
def test_accepting_every_proposal_blacks_out_planted_text(seed: int) -> None:
    sample = planted(seed)
    assert sample.mask.any()
    proposals = propose_regions(sample.ds)
    rows, columns = sample.mask.shape
    apply_edits(sample.ds, edits_of(boxes_of(proposals), sample.frames, rows, columns))
    result = score(sample, proposals)
    assert result.coverage >= KNOWN_MISSES.get(seed, 0.99), (
        f"{100 * result.coverage:.2f} % of planted text pixels covered"
        f" by {len(proposals)} proposals"
    )


@pytest.mark.parametrize("seed", TEXT_FREE_SEEDS, ids=label)
def test_text_free_image_gets_under_two_percent_proposed(seed: int) -> None:
    sample = planted(seed)
    assert not sample.mask.any()
    proposals = propose_regions(sample.ds)
    result = score(sample, proposals)
    assert result.proposed_share < KNOWN_FALSE_ALARMS.get(seed, 0.02), (
        f"{100 * result.proposed_share:.2f} % of the image proposed by {len(proposals)} boxes"
    )
