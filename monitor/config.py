"""The daemon's configuration: one YAML file, validated with pydantic at start.

``${NAME}`` (or ``${NAME:-default}``) anywhere in a string value is replaced by the environment
variable ``NAME``, so secrets stay out of the file. Errors name the key path and the expected form
(``windows[1]: expected a duration such as 1h or a size/step pair such as 1d/1h``). Every key is
documented in docs/configuration.md; deploy/config/fairwatch.yaml is a complete example.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from monitor.engine.evaluate import EngineConfig

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
DURATION_FORM = "a duration such as 90s, 5m, 1h, 30d (or a number of seconds)"


class ConfigError(ValueError):
    """The configuration is invalid; the message names each bad key and what was expected."""


def parse_duration(value: Any) -> float:
    """Seconds from ``"5m"``-style text or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_FORM}, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"expected {DURATION_FORM}, got a negative number")
        return float(value)
    if isinstance(value, str):
        match = _DURATION_PATTERN.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    raise ValueError(f"expected {DURATION_FORM}, got {value!r}")


def format_duration(seconds: float) -> str:
    """The shortest exact unit form of a duration (``3600`` → ``1h``)."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    bootstrap_servers: list[str] = Field(default_factory=lambda: ["localhost:9092"])
    group_id: str = "fairwatch"
    client_id: str = "fairwatch"
    predictions_topic: str = "predictions"
    labels_topic: str = "labels"
    dead_letter_topic: str = "fairwatch-dead-letter"
    # Static group membership (group.instance.id): a restarted instance takes its partitions back
    # at once instead of waiting for the session of the crashed one to time out. Default:
    # derived from group_id, the host name and the state directory.
    instance_id: str | None = None
    session_timeout_ms: int = Field(default=15000, ge=1000)
    # How long `fairwatch run` waits for the broker at start before it exits with code 4
    startup_timeout: float = Field(default=60.0, gt=0.0)
    # Run the consumer in a child process so fetching overlaps with counting
    # (monitor/kafka/consumer_process.py)
    consumer_process: bool = True
    max_poll_records: int = Field(default=20000, ge=1)
    poll_timeout_ms: int = Field(default=200, ge=1)
    # Passed unchanged to kafka-python's consumer, producer and admin client, e.g.
    # security_protocol, sasl_mechanism, sasl_plain_username, sasl_plain_password, ssl_cafile.
    security: dict[str, Any] = Field(default_factory=dict)

    @field_validator("bootstrap_servers", mode="before")
    @classmethod
    def _split_servers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("startup_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class ModelSettings(_Section):
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # which decision is favourable to the person: 1 (approve, the default) or 0 (1 = high risk,
    # deny); ratios of selection rates (the four-fifths rule) compare favourable rates
    favourable_prediction: Literal[0, 1] = 1


class SensitiveSettings(_Section):
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


@dataclass(frozen=True)
class WindowSpec:
    """A window specification: tumbling when ``step == size``, else sliding; seconds."""

    name: str
    size: float
    step: float

    @property
    def sliding(self) -> bool:
        return self.step != self.size


def parse_window(value: Any) -> WindowSpec:
    """``"1h"`` (tumbling), ``"1d/1h"`` (size/step) or ``{size: 1d, step: 1h}``."""
    if isinstance(value, Mapping):
        if "size" not in value:
            raise ValueError("a window object needs size (and optionally step)")
        size = parse_duration(value["size"])
        step = parse_duration(value.get("step", value["size"]))
    elif isinstance(value, str) and "/" in value:
        size_text, step_text = value.split("/", 1)
        size, step = parse_duration(size_text), parse_duration(step_text)
    else:
        size = step = parse_duration(value)
    if size <= 0 or step <= 0:
        raise ValueError("window size and step must be positive")
    if step > size or (size / step) != int(size / step):
        raise ValueError("window size must be a whole multiple of its step")
    name = (
        format_duration(size)
        if step == size
        else f"{format_duration(size)}/{format_duration(step)}"
    )
    return WindowSpec(name=name, size=size, step=step)


class EngineSettings(_Section):
    """Mirrors :class:`monitor.engine.evaluate.EngineConfig` (defaults in one place: the
    engine's)."""

    # a group takes part in a disparity with at least this many rows in each rate's denominator
    min_group_size: int = Field(default=30, ge=0)
    ci_level: float = Field(default=0.95, gt=0.0, lt=1.0)
    mode: Literal["point", "confident"] = "confident"
    # disparity metric name → threshold, e.g. demographic_parity_difference: 0.1
    thresholds: dict[str, float] = Field(default_factory=dict)
    # attribute → reference group for the ratio-to-reference metrics (default: the most favoured)
    reference_groups: dict[str, str] = Field(default_factory=dict)
    max_groups: int | None = Field(default=100, ge=1)
    bootstrap_samples: int = Field(default=1000, ge=10)
    metrics: list[str] | None = None
    score_bins: int = Field(default=10, ge=1, le=1000)
    # Deprecated, ignored: groups below min_group_size are always left out of the disparities
    # they cannot support (and listed as small); kept so that older files still load.
    small_groups: Literal["gate", "exclude"] | None = None
    # model id → favourable prediction, filled from models.<id>.favourable_prediction
    _favourable_predictions: dict[str, int] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _engine_accepts(self) -> EngineSettings:
        self.to_engine_config()
        return self

    def to_engine_config(self) -> EngineConfig:
        from monitor.engine.evaluate import EngineConfig

        return EngineConfig(
            min_group_size=self.min_group_size,
            ci_level=self.ci_level,
            mode=self.mode,
            thresholds=dict(self.thresholds),
            reference_groups=dict(self.reference_groups),
            max_groups=self.max_groups,
            bootstrap_samples=self.bootstrap_samples,
            metrics=None if self.metrics is None else tuple(self.metrics),
            favourable_predictions=dict(self._favourable_predictions),
        )


class InfluxSettings(_Section):
    url: str
    org: str
    bucket: str
    token_env: str = "INFLUXDB_TOKEN"
    batch_size: int = Field(default=5000, ge=1)
    flush_interval: float = 1.0
    buffer_points: int = Field(default=200_000, ge=1)

    @field_validator("flush_interval", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    def token(self) -> str:
        """The token from the environment variable named by ``token_env`` ('' when unset)."""
        return os.environ.get(self.token_env, "")


class EmbeddedSinkSettings(_Section):
    path: str


class HealthSettings(_Section):
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)


class PipelineSettings(_Section):
    max_event_bytes: int = Field(default=65536, ge=64)
    checkpoint_interval: float = 1.0
    shutdown_timeout: float = 5.0
    # Alert rules judge a window once, after it has closed (watermark past its end) and this much
    # longer: raise it for rules on label-based metrics so that the labels have arrived.
    alert_delay: float = Field(default=0.0, ge=0.0)
    # A prediction partition with no record for this long (wall time), and none left to read,
    # stops holding event time back (see monitor.stream.window.Watermark).
    idle_timeout: float = Field(default=60.0, gt=0.0)
    # A prediction whose event time is further ahead of the wall clock than this is refused
    # (reason future_timestamp): one broken producer must not carry event time into the future.
    max_clock_skew: float = Field(default=86400.0, gt=0.0)
    # SQLite page cache of the state database (MB): holds the hot part of the join store's index
    state_cache_mb: int = Field(default=128, ge=4)

    @field_validator(
        "checkpoint_interval",
        "shutdown_timeout",
        "alert_delay",
        "idle_timeout",
        "max_clock_skew",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)


class MonitorConfig(_Section):
    """The whole file. ``alerting`` is kept opaque here and validated by the alerting package."""

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    models: dict[str, ModelSettings] = Field(default_factory=dict)
    default_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    accept_unknown_models: bool = False
    sensitive: SensitiveSettings
    windows: list[WindowSpec] = Field(default_factory=lambda: [parse_window("1h")])
    label_horizon: float = 30 * 86400.0
    allowed_lateness: float = 600.0
    engine: EngineSettings = Field(default_factory=EngineSettings)
    influxdb: InfluxSettings | None = None
    embedded_sink: EmbeddedSinkSettings | None = None
    state_dir: str = "./fairwatch-state"
    health: HealthSettings = Field(default_factory=HealthSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    alerting: dict[str, Any] | None = None

    @field_validator("windows", mode="before")
    @classmethod
    def _windows(cls, value: Any) -> Any:
        if not isinstance(value, list) or not value:
            raise ValueError("expected a non-empty list of windows such as [1h, 1d/1h]")
        specs = []
        for index, item in enumerate(value):
            if isinstance(item, WindowSpec):
                specs.append(item)
                continue
            try:
                specs.append(parse_window(item))
            except ValueError as error:
                raise ValueError(f"windows[{index}]: {error}") from None
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"windows are listed twice: {names}")
        return specs

    @field_validator("label_horizon", "allowed_lateness", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @model_validator(mode="after")
    def _favourable_predictions(self) -> MonitorConfig:
        # the engine judges every model with one EngineConfig: it carries each model's outcome
        self.engine._favourable_predictions = {
            model: settings.favourable_prediction for model, settings in self.models.items()
        }
        return self

    @property
    def thresholds(self) -> dict[str, float]:
        return {model: settings.threshold for model, settings in self.models.items()}

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)


def substitute_env(value: Any, path: str = "", environ: Mapping[str, str] | None = None) -> Any:
    """Replace ``${NAME}`` / ``${NAME:-default}`` in every string of a parsed YAML tree.

    An unset variable without a default is a ``ConfigError`` naming the key path of every such use
    (``influxdb.url: environment variable INFLUX_URL is not set (used as ${INFLUX_URL})``). A
    variable set to the empty string is set: it substitutes as ``''``.
    """
    missing: list[str] = []
    result = _substitute(value, path, os.environ if environ is None else environ, missing)
    if missing:
        raise ConfigError("; ".join(missing))
    return result


def _substitute(value: Any, path: str, env: Mapping[str, str], missing: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            key: _substitute(item, f"{path}.{key}" if path else str(key), env, missing)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _substitute(item, f"{path}[{index}]", env, missing) for index, item in enumerate(value)
        ]
    if isinstance(value, str) and "${" in value:

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            missing.append(
                f"{path or '(top level)'}: environment variable {name} is not set "
                f"(used as ${{{name}}})"
            )
            return match.group(0)

        return _ENV_PATTERN.sub(replace, value)
    return value


def unset_secrets(config: MonitorConfig, environ: Mapping[str, str] | None = None) -> list[str]:
    """One problem per secret the daemon reads from the environment at start whose variable is
    unset or empty (``influxdb.token_env``); the alerting package checks its receivers' own."""
    env = os.environ if environ is None else environ
    problems = []
    if config.influxdb is not None and not env.get(config.influxdb.token_env):
        problems.append(
            f"influxdb.token_env: environment variable {config.influxdb.token_env} is not set "
            "(it holds the InfluxDB token; any value for InfluxDB 1.8 without authentication)"
        )
    return problems


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        parts: list[str] = []
        for part in item["loc"]:
            if isinstance(part, int):
                parts.append(f"[{part}]")
            elif part in ("function-after", "function-before") or "[" in str(part):
                continue
            else:
                parts.append(("." if parts else "") + str(part))
        location = "".join(parts) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (see docs/configuration.md for the keys this section takes)"
        elif item["type"] == "missing":
            message = "is required"
        elif "input" in item and item["type"] not in ("value_error",):
            message = f"{message} (got {_shorten(repr(item['input']))})"
        if message.startswith(location + "["):
            lines.append(message)
        else:
            lines.append(f"{location}: {message}")
    return "; ".join(lines)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def config_from_dict(data: Any, environ: Mapping[str, str] | None = None) -> MonitorConfig:
    """Validate an already-parsed configuration tree."""
    if not isinstance(data, dict):
        raise ConfigError("(top level): expected a mapping of sections (kafka, models, ...)")
    try:
        data = substitute_env(data, environ=environ)
        return MonitorConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_format_errors(error)) from None
    except RecursionError:  # a YAML anchor used inside itself (``a: &a [*a]``)
        raise ConfigError("(top level): nested too deeply (a YAML alias inside itself?)") from None


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> MonitorConfig:
    """Read, substitute and validate the YAML file at ``path``.

    Every ``ConfigError`` is one line that names the key path (or, for YAML syntax, the line and
    column) but not the file: the caller knows it and names it once.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError("cannot read the file: it is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"not valid YAML: {_yaml_problem(error)}") from None
    return config_from_dict(data, environ)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """``line 3, column 7: mapping values are not allowed here`` from a PyYAML error."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        context = f" ({error.context})" if error.context else ""
        return f"{where}: {error.problem}{context}"
    return " ".join(str(error).split())
