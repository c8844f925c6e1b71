"""A window's groups in the form the engine computes on (:class:`GroupTable`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from monitor.engine.disparity_intervals import Segments


class GroupTable(NamedTuple):
    """The groups of one window: ``attributes`` in order, each one's group ``names``, one int64
    counts row per group in that order (``matrix``), and the ``segments`` of the rows (one per
    attribute). Every disparity of the window is computed from it; it unpacks as
    ``attributes, names, matrix, segments = table``."""

    attributes: list[str]
    names: list[list[str]]
    matrix: np.ndarray
    segments: Segments

    @classmethod
    def of(cls, attributes: list[str], names: list[list[str]], matrix: np.ndarray) -> GroupTable:
        """The table of ``matrix``, whose rows are the groups of ``names`` attribute by
        attribute."""
        return cls(attributes, names, matrix, Segments.from_sizes([len(n) for n in names]))
