"""Reading the file: YAML, ``${NAME}`` substitution, validation into :class:`MonitorConfig`, and
the secrets the daemon reads at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.config.document import MonitorConfig
from monitor.config.errors import ConfigError, describe

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
    unset or empty (``influxdb.token_env``, the reports' ``slack.token_env`` and
    ``webhook.url_env``); the alerting package checks its receivers' own."""
    env = os.environ if environ is None else environ
    problems = []
    if config.influxdb is not None and not env.get(config.influxdb.token_env):
        problems.append(
            f"influxdb.token_env: environment variable {config.influxdb.token_env} is not set "
            "(it holds the InfluxDB token; any value for InfluxDB 1.8 without authentication)"
        )
    for index, report in enumerate(config.reports):
        for key, name in (
            ("slack.token_env", report.slack.token_env if report.slack else None),
            ("webhook.url_env", report.webhook.url_env if report.webhook else None),
        ):
            if name is not None and not env.get(name):
                problems.append(
                    f"reports[{index}].{key}: environment variable {name} is not set "
                    f"(report {report.name!r} posts with it)"
                )
    return problems


def config_from_dict(data: Any, environ: Mapping[str, str] | None = None) -> MonitorConfig:
    """Validate an already-parsed configuration tree."""
    if not isinstance(data, dict):
        raise ConfigError("(top level): expected a mapping of sections (kafka, models, ...)")
    try:
        data = substitute_env(data, environ=environ)
        return MonitorConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(describe(error)) from None
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
