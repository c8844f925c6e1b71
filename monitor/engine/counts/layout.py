"""The array form of per-group counts, and its layout.

The array form is one int64 row per group: the six :data:`COUNT_FIELDS`, then ``score_bins``
histogram cells for label 0, ``score_bins`` cells for label 1 (the scores of labeled rows, for
calibration), and ``score_bins`` sums of the scores' offsets from their bin's centre.

Score offsets are fixed point: a labeled row with score ``s`` in bin ``b`` adds
``round((s − mid_b) · SCORE_SCALE)`` to the bin's sum, ``mid_b = (b + ½) / bins`` its centre and
:data:`SCORE_SCALE` = 10⁶ (micro-units). Integers keep the counts' arithmetic exact: a sum minus
the rows it added is exactly 0 again, whatever the order of additions (floats would leave
residues and differ between a window summed from panes and one counted at once). The mean score
of a bin is ``mid_b + offsets_b / (SCORE_SCALE · count_b)``, within 5·10⁻⁷ of the mean of the
scores themselves. Offsets from the centre (not the scores themselves) make a row of the earlier
layout, without offset sums, read as "every score at its bin's centre" once padded with zeros:
exactly what calibration assumed before. Each row adds at most ``SCORE_SCALE / 2`` in absolute
value, so an int64 sum holds 1.8·10¹³ rows.
"""

from __future__ import annotations

import numpy as np

COUNT_FIELDS: tuple[str, ...] = ("n", "predicted_positive", "tp", "fp", "tn", "fn")
BASE_WIDTH = len(COUNT_FIELDS)
UNLABELED = -1
#: Score offsets are stored in units of 1 / SCORE_SCALE (micro-units).
SCORE_SCALE = 1_000_000
#: Cells per histogram bin: label-0 count, label-1 count, score-offset sum.
CELLS_PER_BIN = 3
#: Cells per bin of the layout before score-offset sums were kept (checkpoints written then).
LEGACY_CELLS_PER_BIN = 2
#: Score bins of the calibration histogram unless configured (``engine.score_bins``).
DEFAULT_SCORE_BINS = 10


def row_width(score_bins: int = 0) -> int:
    """Width of a counts row holding ``score_bins`` histogram bins (0: no histogram)."""
    return BASE_WIDTH + CELLS_PER_BIN * score_bins


def bins_of_width(width: int) -> int:
    """The number of histogram bins stored in a counts row of ``width`` cells."""
    extra = width - BASE_WIDTH
    if extra < 0 or extra % CELLS_PER_BIN:
        raise ValueError(
            f"a counts row has {BASE_WIDTH} + {CELLS_PER_BIN} × bins cells, got {width}"
        )
    return extra // CELLS_PER_BIN


def bin_centres(score_bins: int) -> np.ndarray:
    """The centre ``(b + ½) / bins`` of each of ``score_bins`` equal bins on [0, 1]."""
    return (np.arange(score_bins) + 0.5) / score_bins


def widen(matrix: np.ndarray, score_bins: int) -> np.ndarray:
    """A counts matrix in the current layout for ``score_bins`` bins: rows without a histogram
    (:data:`BASE_WIDTH` cells) or of the earlier layout without score-offset sums get zero
    cells on the right (an offset sum of 0 reads as scores at their bins' centres). A matrix of
    the current width is returned as it is."""
    array = np.asarray(matrix, dtype=np.int64)
    width = row_width(score_bins)
    if array.shape[-1] == width:
        return array
    legacy = BASE_WIDTH + LEGACY_CELLS_PER_BIN * score_bins
    if array.shape[-1] not in (BASE_WIDTH, legacy):
        raise ValueError(
            f"a counts row for {score_bins} score bins has {width} cells "
            f"({legacy} before score sums were kept), got {array.shape[-1]}: counts written "
            "with another engine.score_bins cannot be combined (use a new state_dir, or "
            "restore the setting)"
        )
    widened = np.zeros((*array.shape[:-1], width), dtype=np.int64)
    widened[..., : array.shape[-1]] = array
    return widened
