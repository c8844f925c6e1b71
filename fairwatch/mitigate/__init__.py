"""Per-group decision thresholds that meet a fairness constraint (``fairwatch mitigate``).

``core`` runs a mitigation (:func:`fairwatch.mitigate.core.run_mitigation`) with the exact
threshold search of :mod:`monitor.engine.thresholds` (shared with the advice of alerts); ``curve``
is its trade-off curve;
``reference`` runs fairlearn's ThresholdOptimizer beside it; ``render_*`` are the outputs. The
package's ``__init__`` imports nothing, so that ``fairwatch --help`` stays quick.
"""
