"""The daemon's configuration: one YAML file, validated with pydantic at start.

One module per concept: ``durations`` (the one duration rule of every section), ``errors`` (the
one :class:`ConfigError` and its ``key.path: problem`` messages), ``windows``, one module per
section (``kafka``, ``engine`` — generated from the engine's own ``EngineConfig`` —,
``pipeline``, ``reports``, ``sections`` for the small ones), ``document`` (the whole file) and
``loader`` (YAML, ``${NAME}`` substitution). The ``alerting:`` section is declared by the
alerting package with the same pieces. Every key is documented, once, in docs/configuration.md;
deploy/config/fairwatch.yaml is a complete example.

``${NAME}`` (or ``${NAME:-default}``) anywhere in a string value is replaced by the environment
variable ``NAME``, so secrets stay out of the file. Errors name the key path and the expected form
(``windows[1]: expected a duration such as 30s, 5m, 1h, 30d (or a number of seconds), got
'soon'``).
"""

from monitor.config.document import MonitorConfig
from monitor.config.durations import DURATION_FORM, Duration, format_duration, parse_duration
from monitor.config.errors import ConfigError
from monitor.config.kafka import KafkaSettings
from monitor.config.loader import config_from_dict, load_config, substitute_env, unset_secrets
from monitor.config.pipeline import PipelineSettings
from monitor.config.reports import ReportSettings, SlackReportTarget, WebhookReportTarget
from monitor.config.sections import (
    EmbeddedSinkSettings,
    HealthSettings,
    InfluxSettings,
    ModelSettings,
    SensitiveSettings,
)
from monitor.config.windows import WindowSpec, parse_window

__all__ = [
    "DURATION_FORM",
    "ConfigError",
    "Duration",
    "EmbeddedSinkSettings",
    "HealthSettings",
    "InfluxSettings",
    "KafkaSettings",
    "ModelSettings",
    "MonitorConfig",
    "PipelineSettings",
    "ReportSettings",
    "SensitiveSettings",
    "SlackReportTarget",
    "WebhookReportTarget",
    "WindowSpec",
    "config_from_dict",
    "format_duration",
    "load_config",
    "parse_duration",
    "parse_window",
    "substitute_env",
    "unset_secrets",
]
