"""The streaming pipeline: the event contract and its decoder, the label join, event-time windows,
the checkpointed state, and the daemon loop that drives a source into the sinks.

The stages here hold state and are driven by the daemon; none of them opens a network connection
(sources, dead letters and sinks are handed in).
"""
