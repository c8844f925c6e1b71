"""fairwatch's pipeline: events, windows of per-group counts, the metric engine and the sinks."""

__version__ = "0.1.0"
