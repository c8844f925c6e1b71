"""The streaming pipeline: decoding against the event contract (:mod:`~monitor.stream.decode`),
the intake (refusals by event time, the label join: :mod:`~monitor.stream.intake`,
:mod:`~monitor.stream.join`), event-time windows of counts (:mod:`~monitor.stream.counting`,
:mod:`~monitor.stream.window`), the checkpointed state, the pipeline that ties them together, the
closed-window gate in front of the alert rules, and the daemon loop that drives a source into the
sinks.

The stages here hold state and are driven by the daemon; none of them opens a network connection
(sources, dead letters and sinks are handed in; :mod:`~monitor.stream.memory` holds the in-memory
ones). Their interfaces are in :mod:`monitor.types`.
"""
