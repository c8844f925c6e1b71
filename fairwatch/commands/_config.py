"""What every command reading the daemon's configuration shares: load it with every check
``fairwatch run`` makes, and report an invalid one as a single line on stderr (exit status 2)."""

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


def load_or_report(path: str | Path, *, secrets: bool = True) -> MonitorConfig | None:
    """The validated configuration at ``path`` (``fairwatch.app.load``), or ``None`` after the
    error line has been printed; the caller then exits with ``EXIT_CONFIG``."""
    from fairwatch.app import load
    from monitor.config import ConfigError

    try:
        return load(path, secrets=secrets)
    except ConfigError as error:
        print(config_error_line(path, error), file=sys.stderr)
        return None
