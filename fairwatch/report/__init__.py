"""Reports for people: one page scaffold and one set of plots, shared by every report.

* :mod:`fairwatch.report.page`: the self-contained HTML page (inline CSS), its summary cards,
  figures with captions, status badges and number formatting.
* :mod:`fairwatch.report.svg`: matplotlib set up once (SVG text output, the house style, the
  colours) and :func:`~fairwatch.report.svg.to_svg`.
* :mod:`fairwatch.report.plots`: one window's results: per-group rates with their intervals,
  disparities with their intervals and thresholds, ratios to a reference group, reliability
  diagrams (``fairwatch audit``).
* :mod:`fairwatch.report.timeseries`: results over time: a disparity with its interval band and
  a rule's thresholds, per-group rates, an alert timeline (``fairwatch demo``).

Figures are returned as ``<svg>`` text to inline in a page; nothing here reads files or knows
about the pipeline.
"""
