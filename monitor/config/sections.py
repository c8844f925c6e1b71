"""The small sections of the daemon's configuration, and :class:`Section`, the base of every
section model (the ``alerting:`` section's included): frozen, unknown keys refused."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.config.durations import Duration

#: Decision threshold of a model that names none (``models.<id>.threshold``, ``default_threshold``)
DEFAULT_THRESHOLD = 0.5
#: InfluxDB writes: points per request, longest wait of a partial batch, points buffered at most
#: (``monitor.sinks.influx.InfluxSink`` built without a configuration uses them too).
DEFAULT_INFLUX_BATCH_SIZE = 5000
DEFAULT_INFLUX_FLUSH_INTERVAL = 1.0
DEFAULT_INFLUX_BUFFER_POINTS = 200_000


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ModelSettings(Section):
    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    # which decision is favourable to the person: 1 (approve) or 0 (1 = high risk, deny); ratios
    # of selection rates (the four-fifths rule) compare favourable rates. Unset: the engine's
    # default (EngineConfig.favourable_prediction).
    favourable_prediction: Literal[0, 1] | None = None


class SensitiveSettings(Section):
    attributes: list[str] = Field(min_length=1)
    intersections: list[list[str]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _intersections_known(self) -> SensitiveSettings:
        for index, members in enumerate(self.intersections):
            if len(members) < 2:
                raise ValueError(f"intersections[{index}] needs at least two attributes")
            unknown = [name for name in members if name not in self.attributes]
            if unknown:
                raise ValueError(
                    f"intersections[{index}] names {unknown}, which are not in attributes"
                )
        return self


class InfluxSettings(Section):
    url: str
    org: str
    bucket: str
    token_env: str = "INFLUXDB_TOKEN"
    batch_size: int = Field(default=DEFAULT_INFLUX_BATCH_SIZE, ge=1)
    flush_interval: Duration = DEFAULT_INFLUX_FLUSH_INTERVAL
    buffer_points: int = Field(default=DEFAULT_INFLUX_BUFFER_POINTS, ge=1)

    def token(self) -> str:
        """The token from the environment variable named by ``token_env`` ('' when unset)."""
        return os.environ.get(self.token_env, "")


class EmbeddedSinkSettings(Section):
    path: str


class HealthSettings(Section):
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
