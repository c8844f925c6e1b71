"""The array form of per-group counts: the layout of a counts row and its score bins.

A counts row is int64: the six :data:`COUNT_FIELDS`, then ``score_bins`` histogram cells for
label 0, ``score_bins`` cells for label 1, ``score_bins`` score-offset sums and ``score_bins``
cells of scored predictions (:func:`block` names each run of cells).

Bin ``b`` of ``bins`` holds the scores ``s`` with ``edges[b] <= s < edges[b + 1]`` (the last bin
also holds 1), ``edges[b] = b / bins`` in float64 (:func:`bin_edges`): exactly the scores that the
decision ``s >= edges[b]`` selects among those of bins ``b`` and above. So the counts selected by
any threshold at a bin edge are exact sums of bins (what threshold advice relies on,
:mod:`monitor.engine.thresholds`).

Score offsets are fixed point: a labeled row with score ``s`` in bin ``b`` adds
``round((s − mid_b) · SCORE_SCALE)`` to the bin's sum, ``mid_b = (b + ½) / bins`` its centre and
:data:`SCORE_SCALE` = 10⁶ (micro-units). Integers keep the counts' arithmetic exact: a sum minus
the rows it added is exactly 0 again, whatever the order of additions (floats would leave
residues and differ between a window summed from panes and one counted at once). The mean score
of a bin is ``mid_b + offsets_b / (SCORE_SCALE · count_b)``, within 5·10⁻⁷ of the mean of the
scores themselves. Offsets from the centre (not the scores themselves) make a row of an earlier
layout, without offset sums, read as "every score at its bin's centre" once padded with zeros
(:func:`widen`): exactly what calibration assumed before. Each row adds at most
``SCORE_SCALE / 2`` in absolute value, so an int64 sum holds 1.8·10¹³ rows. A row of a layout
without the predictions' cells reads as "no scored prediction" once padded: threshold advice then
declines such windows.
"""

from __future__ import annotations

import numpy as np

COUNT_FIELDS: tuple[str, ...] = ("n", "predicted_positive", "tp", "fp", "tn", "fn")
BASE_WIDTH = len(COUNT_FIELDS)
UNLABELED = -1
#: Score offsets are stored in units of 1 / SCORE_SCALE (micro-units).
SCORE_SCALE = 1_000_000
#: Cells per histogram bin: label-0 count, label-1 count, score-offset sum, scored predictions.
CELLS_PER_BIN = 4
#: Cells per bin of the earlier layouts (checkpoints written then): without score-offset sums,
#: then without the scored predictions' cells.
LEGACY_CELLS_PER_BIN: tuple[int, ...] = (2, 3)
#: Score bins of the histograms unless configured (``engine.score_bins``): thresholds in steps of
#: 0.02 (calibration merges them into ``engine.calibration_bins``).
DEFAULT_SCORE_BINS = 50
#: Where each block of ``score_bins`` cells starts, after the base counts (in bins).
NEGATIVES_BLOCK, POSITIVES_BLOCK, OFFSETS_BLOCK, PREDICTIONS_BLOCK = 0, 1, 2, 3


def row_width(score_bins: int = 0) -> int:
    """Width of a counts row holding ``score_bins`` histogram bins (0: no histogram)."""
    return BASE_WIDTH + CELLS_PER_BIN * score_bins


def block(score_bins: int, which: int) -> slice:
    """The cells of one block of a row (``NEGATIVES_BLOCK`` … ``PREDICTIONS_BLOCK``)."""
    start = BASE_WIDTH + which * score_bins
    return slice(start, start + score_bins)


def bin_edges(score_bins: int) -> np.ndarray:
    """The ``score_bins + 1`` edges ``b / bins`` of equal bins on [0, 1] (float64 division)."""
    return np.arange(score_bins + 1, dtype=np.float64) / score_bins


def score_bin(scores: np.ndarray, score_bins: int) -> np.ndarray:
    """The bin of each (finite) score: ``b`` with ``edges[b] <= s < edges[b + 1]`` (1 and above
    in the last bin, below 0 in the first). ``floor(s · bins)`` can land one bin off next to an
    edge (``0.29 · 100 = 28.999…``); it is corrected against the edges themselves."""
    edges = bin_edges(score_bins)
    index = np.multiply(scores, score_bins).astype(np.int64)
    np.clip(index, 0, score_bins - 1, out=index)
    index -= scores < np.take(edges, index)
    index += scores >= np.take(edges, index + 1)
    np.clip(index, 0, score_bins - 1, out=index)
    return index


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
    (:data:`BASE_WIDTH` cells) or of an earlier layout (without score-offset sums, without the
    scored predictions' cells) get zero cells on the right (an offset sum of 0 reads as scores at
    their bins' centres; no predictions' cells as no scored prediction). Rows written with fewer
    bins that divide ``score_bins`` (the default went from 10 to 50) are re-binned
    (:func:`_rebin`). A matrix of the current width is returned as it is."""
    array = np.asarray(matrix, dtype=np.int64)
    width = row_width(score_bins)
    if array.shape[-1] == width:
        return array
    earlier = [BASE_WIDTH + cells * score_bins for cells in LEGACY_CELLS_PER_BIN]
    if array.shape[-1] in (BASE_WIDTH, *earlier):
        widened = np.zeros((*array.shape[:-1], width), dtype=np.int64)
        widened[..., : array.shape[-1]] = array
        return widened
    coarser = _coarser_layout(array.shape[-1], score_bins)
    if coarser is not None:
        return _rebin(array, *coarser, score_bins)
    raise ValueError(
        f"a counts row for {score_bins} score bins has {width} cells "
        f"({' or '.join(map(str, earlier))} in earlier layouts), got {array.shape[-1]} "
        f"({_stored_bins(array.shape[-1])}): counts written with another engine.score_bins "
        "cannot be combined (use a new state_dir, or restore the setting; the default was "
        f"10 bins before it became {DEFAULT_SCORE_BINS})"
    )


def _coarser_layout(width: int, score_bins: int) -> tuple[int, int] | None:
    """``(cells per bin, bins)`` of a row of ``width`` cells written with fewer bins that divide
    ``score_bins``, trying the earlier layouts first (checkpoints written before this one)."""
    extra = width - BASE_WIDTH
    for cells in (*reversed(LEGACY_CELLS_PER_BIN), CELLS_PER_BIN):
        if extra > 0 and extra % cells == 0:
            bins = extra // cells
            if bins < score_bins and score_bins % bins == 0:
                return cells, bins
    return None


def _rebin(array: np.ndarray, cells: int, bins: int, score_bins: int) -> np.ndarray:
    """Rows of ``bins`` coarse bins (``cells`` per bin) in the current layout of ``score_bins``:
    each coarse bin's labeled counts go to the first of its fine bins, with its score-offset sum
    moved to that fine bin's centre, so calibration, which merges the fine bins back, is what
    it was. The scored predictions' cells stay 0 (their scores within a coarse bin are not
    known): threshold advice declines windows that hold such rows."""
    factor = score_bins // bins
    out = np.zeros((*array.shape[:-1], row_width(score_bins)), dtype=np.int64)
    out[..., :BASE_WIDTH] = array[..., :BASE_WIDTH]
    negatives = array[..., BASE_WIDTH : BASE_WIDTH + bins]
    positives = array[..., BASE_WIDTH + bins : BASE_WIDTH + 2 * bins]
    out[..., block(score_bins, NEGATIVES_BLOCK)][..., ::factor] = negatives
    out[..., block(score_bins, POSITIVES_BLOCK)][..., ::factor] = positives
    offsets = np.zeros_like(negatives)
    if cells >= 3:
        offsets = array[..., BASE_WIDTH + 2 * bins : BASE_WIDTH + 3 * bins]
    # the coarse centre (b + ½)/bins lies (factor − 1)/(2 · score_bins) above the fine one
    shift = round((factor - 1) / (2 * score_bins) * SCORE_SCALE)
    out[..., block(score_bins, OFFSETS_BLOCK)][..., ::factor] = (
        offsets + (negatives + positives) * shift
    )
    return out


def _stored_bins(width: int) -> str:
    """What a row of ``width`` cells may hold, in words (``10 bins``, ``10 or 15 bins``)."""
    extra = width - BASE_WIDTH
    options = sorted(
        {extra // cells for cells in (CELLS_PER_BIN, *LEGACY_CELLS_PER_BIN) if extra % cells == 0}
    )
    if extra <= 0 or not options:
        return "not a counts row"
    return " or ".join(map(str, options)) + " bins"


def score_histogram(
    groups: np.ndarray,
    n_groups: int,
    labels: np.ndarray | None,
    score: np.ndarray,
    score_bins: int,
    only_labels: np.ndarray | None,
) -> np.ndarray:
    """Per group: labeled scored rows by (label, bin), each bin's score-offset sum, then the
    scored predictions by bin (rows that count ``n``)."""
    width = CELLS_PER_BIN * score_bins
    size = n_groups * width
    scores = np.asarray(score, dtype=np.float64)
    if scores.shape[0] != groups.shape[0]:
        raise ValueError("score and group_index differ in length")
    scored = np.isfinite(scores)
    all_scored = bool(scored.all())
    if all_scored:
        bin_index = score_bin(scores, score_bins)
    else:
        bin_index = np.zeros(scores.shape[0], dtype=np.int64)
        bin_index[scored] = score_bin(scores[scored], score_bins)
    cell = groups.astype(np.int64)
    cell *= width
    cell += bin_index
    if only_labels is None:
        predicted = cell if all_scored else cell[scored]
    else:
        predicted = cell[scored & ~only_labels]
    counted = np.bincount(predicted, minlength=size)
    counted = np.roll(counted, PREDICTIONS_BLOCK * score_bins)  # into the predictions' cells
    if labels is None:
        return counted.reshape(n_groups, width)
    labeled = scored & (labels >= 0)
    labeled_cell = cell[labeled]
    labeled_bin = bin_index[labeled]
    label_of = labels[labeled].astype(np.int64)
    label_of *= score_bins
    label_of += labeled_cell
    counted += np.bincount(label_of, minlength=size)
    offsets = scores[labeled]
    offsets -= bin_centres(score_bins)[labeled_bin]
    offsets *= SCORE_SCALE
    np.rint(offsets, out=offsets)
    # float64 sums of integers are exact below 2⁵³: 1.8·10¹⁰ rows per bin and batch
    sums = np.bincount(labeled_cell, offsets, minlength=size)
    counted += np.roll(np.rint(sums).astype(np.int64), OFFSETS_BLOCK * score_bins)
    return counted.reshape(n_groups, width)
