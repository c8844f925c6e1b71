"""What every command reading the daemon's configuration shares: load it with every check
``fairwatch run`` makes, report an invalid one as a single line on stderr (exit status 2), and
(``run``, ``check-config``) warn about what a valid one may not mean as written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config import MonitorConfig

EXIT_CONFIG = 2


def config_error_line(path: str | Path, error: Exception) -> str:
    """``fairwatch: invalid configuration FILE: key.path: problem`` on one line."""
    message = "; ".join(part.strip() for part in str(error).splitlines() if part.strip())
    return f"fairwatch: invalid configuration {path}: {message}"


def load_or_report(
    path: str | Path, *, secrets: bool = True, warn: bool = False
) -> MonitorConfig | None:
    """The validated configuration at ``path`` (``fairwatch.app.load``), or ``None`` after the
    error line has been printed; the caller then exits with ``EXIT_CONFIG``. With ``warn``
    (``fairwatch run`` and ``check-config``), :func:`config_warnings` go to stderr."""
    from fairwatch.app import load
    from monitor.config import ConfigError

    try:
        config = load(path, secrets=secrets)
    except ConfigError as error:
        print(config_error_line(path, error), file=sys.stderr)
        return None
    for warning in config_warnings(config) if warn else ():
        print(f"fairwatch: warning: {path}: {warning}", file=sys.stderr)
    return config


def config_warnings(config: MonitorConfig) -> list[str]:
    """What a valid configuration may not mean as written: ``for: N evaluations`` on a sliding
    window (:func:`alerting.config.overlap_warnings`)."""
    if not config.alerting:
        return []
    from alerting.config import overlap_warnings, parse_alerting_config

    return overlap_warnings(parse_alerting_config(config.alerting), config.windows)
