"""The whole configuration file: :class:`MonitorConfig`, one field per section or top-level key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, PlainValidator, field_validator, model_validator

from monitor.config.durations import Duration
from monitor.config.engine import engine_config
from monitor.config.kafka import KafkaSettings
from monitor.config.pipeline import PipelineSettings
from monitor.config.reports import ReportSettings, check_report_names
from monitor.config.sections import (
    DEFAULT_THRESHOLD,
    EmbeddedSinkSettings,
    HealthSettings,
    InfluxSettings,
    ModelSettings,
    Section,
    SensitiveSettings,
)
from monitor.config.windows import DEFAULT_WINDOW, WindowSpec, parse_window, parse_windows
from monitor.engine.config import EngineConfig


class MonitorConfig(Section):
    """The whole file. ``alerting`` is kept opaque here and validated by the alerting package;
    ``reports`` are run by ``fairwatch.compliance.schedule``.

    ``engine`` is the engine's own :class:`~monitor.engine.config.EngineConfig`, with each
    model's favourable prediction from ``models``.
    """

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    models: dict[str, ModelSettings] = Field(default_factory=dict)
    default_threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0.0, le=1.0)
    accept_unknown_models: bool = False
    sensitive: SensitiveSettings
    windows: list[WindowSpec] = Field(default_factory=lambda: [parse_window(DEFAULT_WINDOW)])
    label_horizon: Duration = 30 * 86400.0
    allowed_lateness: Duration = 600.0
    engine: Annotated[EngineConfig, PlainValidator(engine_config)] = Field(
        default_factory=EngineConfig
    )
    influxdb: InfluxSettings | None = None
    embedded_sink: EmbeddedSinkSettings | None = None
    state_dir: str = "./fairwatch-state"
    health: HealthSettings = Field(default_factory=HealthSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    alerting: dict[str, Any] | None = None
    reports: list[ReportSettings] = Field(default_factory=list)

    @field_validator("windows", mode="before")
    @classmethod
    def _windows(cls, value: Any) -> list[WindowSpec]:
        return parse_windows(value)

    @field_validator("reports", mode="after")
    @classmethod
    def _reports(cls, value: list[ReportSettings]) -> list[ReportSettings]:
        return check_report_names(value)

    @model_validator(mode="after")
    def _favourable_predictions(self) -> MonitorConfig:
        # the engine judges every model with one EngineConfig: it carries each model's outcome
        chosen = {
            model: settings.favourable_prediction
            for model, settings in self.models.items()
            if settings.favourable_prediction is not None
        }
        if chosen:
            engine = dataclasses.replace(
                self.engine, favourable_predictions={**self.engine.favourable_predictions, **chosen}
            )
            object.__setattr__(self, "engine", engine)
        return self

    @property
    def thresholds(self) -> dict[str, float]:
        return {model: settings.threshold for model, settings in self.models.items()}

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)
