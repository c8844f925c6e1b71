"""``fairwatch demo``: the whole monitor on the UCI Adult data, with no servers.

A model trained on the Adult training split makes decisions on the test split; those decisions are
replayed as prediction events (labels follow later as label events), with a drift injected midway
that harms one group. The events run through the same pipeline and alert manager as
``fairwatch run``; only the source (in memory) and the sink (SQLite) are embedded.
"""
