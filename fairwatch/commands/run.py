"""``fairwatch run --config FILE``: the streaming daemon."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

ORDER = 10

EXIT_CONFIG = 2
EXIT_CONFLICT = 3
EXIT_SOURCE = 4


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run", help="run the streaming daemon (Kafka → windows → InfluxDB, alerts)"
    )
    parser.add_argument("--config", "-c", required=True, help="the YAML configuration file")
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fairwatch.app import build_daemon
    from fairwatch.commands._config import load_or_report
    from monitor.source import GroupConflictError, SourceError
    from monitor.state import StateLockedError

    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("kafka", "urllib3", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    config = load_or_report(args.config)
    if config is None:
        return EXIT_CONFIG
    try:
        daemon = build_daemon(config)
    except StateLockedError as error:
        print(f"fairwatch: refusing to start: {error}", file=sys.stderr)
        return EXIT_CONFLICT
    daemon.install_signal_handlers()
    try:
        return daemon.run()
    except GroupConflictError as error:
        print(f"fairwatch: refusing to start: {error}", file=sys.stderr)
        return EXIT_CONFLICT
    except SourceError as error:
        print(f"fairwatch: cannot consume: {error}", file=sys.stderr)
        return EXIT_SOURCE
