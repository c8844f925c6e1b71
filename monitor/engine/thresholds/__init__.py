"""Per-group decision thresholds that meet a fairness constraint: the exact search shared by
``fairwatch mitigate`` (candidates from rows) and the advice of alerts (candidates from a window's
score histograms, :mod:`monitor.engine.advice`).

``candidates`` lists every decision a group can take, ``search`` finds the best choice within a
tolerance, ``outcome`` gives a choice's figures.
"""
