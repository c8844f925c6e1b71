"""The metric engine: pure functions from per-group counts to rates, disparities and intervals.

Nothing here does I/O, keeps state between calls or reads a clock: the streaming pipeline, the
offline audit, the backtest and the mitigation advice all evaluate windows through
:func:`monitor.engine.evaluate.evaluate`.
"""
