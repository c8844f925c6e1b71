"""``fairwatch backtest``: a file of prediction and label events through the pipeline and the
alert rules, in event time (``events_file`` reads it, ``run`` replays it, ``report`` prints it)."""
