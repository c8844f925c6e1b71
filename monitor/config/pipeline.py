"""The ``pipeline:`` section: how the streaming stages decode, checkpoint and stop.

The defaults that the stages also use when built without a configuration (tests, tools) are
named here once: ``monitor.stream.decode`` and ``monitor.stream.state`` import them.
"""

from __future__ import annotations

from pydantic import Field

from monitor.config.durations import Duration
from monitor.config.sections import Section

#: Larger records are dead-lettered as ``oversized``.
DEFAULT_MAX_EVENT_BYTES = 65536
#: SQLite page cache of the state database, in MB.
DEFAULT_STATE_CACHE_MB = 128


class PipelineSettings(Section):
    max_event_bytes: int = Field(default=DEFAULT_MAX_EVENT_BYTES, ge=64)
    checkpoint_interval: Duration = 1.0
    shutdown_timeout: Duration = 5.0
    # Alert rules judge a window once, after it has closed (watermark past its end) and this much
    # longer: raise it for rules on label-based metrics so that the labels have arrived.
    alert_delay: Duration = Field(default=0.0, ge=0.0)
    # A prediction partition with no record for this long (wall time), and none left to read,
    # stops holding event time back (see monitor.stream.window.Watermark).
    idle_timeout: Duration = Field(default=60.0, gt=0.0)
    # A prediction whose event time is further ahead of the wall clock than this is refused
    # (reason future_timestamp): one broken producer must not carry event time into the future.
    max_clock_skew: Duration = Field(default=86400.0, gt=0.0)
    # SQLite page cache of the state database (MB): holds the hot part of the join store's index
    state_cache_mb: int = Field(default=DEFAULT_STATE_CACHE_MB, ge=4)
