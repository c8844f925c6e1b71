"""The configuration in force, normalised (every default filled in, one canonical JSON form) and
hashed, with its secrets left out.

Two files that mean the same configuration (keys in another order, ``for: 2 evaluations`` or
``for: 2 evals``, a default written out or not) have the same hash; a change of any setting
changes it. Left out: values that are secrets (keys named like a password, token, secret or
key, except the ``*_env`` names of the variables holding them; header values; the password of a
URL) and the ``reports:`` section, which says how reports are made, not what is monitored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from monitor.config import MonitorConfig

REDACTED = "(secret)"
_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|credential|api_?key|private_?key|routing_key|authorization"
    r"|sasl_plain_username",
    re.IGNORECASE,
)
#: Keys whose values are all secrets (their names are kept).
_SECRET_MAPS = frozenset({"headers"})


def normalised(config: MonitorConfig) -> dict[str, Any]:
    """The configuration as plain JSON data, defaults filled in, secrets replaced by
    :data:`REDACTED`, without the ``reports:`` section."""
    from alerting.config import parse_alerting_config

    data: dict[str, Any] = config.model_dump(
        mode="json", exclude={"engine", "alerting", "reports"}, warnings=False
    )
    data["engine"] = json.loads(json.dumps(dataclasses.asdict(config.engine), default=list))
    alerting = parse_alerting_config(config.alerting)
    data["alerting"] = alerting.model_dump(mode="json") if config.alerting is not None else None
    redacted: dict[str, Any] = _redact(data)
    return redacted


def config_hash(config: MonitorConfig) -> str:
    """sha256 (hex) of :func:`normalised` as canonical JSON."""
    return hashlib.sha256(canonical_json(normalised(config)).encode()).hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: one text per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _redact(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        if key in _SECRET_MAPS:
            return {name: REDACTED for name in value}
        return {name: _redact(item, str(name)) for name, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, key) for item in value]
    if value is None or key.endswith("_env"):
        return value
    if _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str) and "://" in value and "@" in value:
        return _without_password(value)
    return value


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))
