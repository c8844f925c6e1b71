"""``fairwatch alerts test --config FILE``: send a test notification to each configured receiver."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

ORDER = 60


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("alerts", help="alert manager tools")
    actions = parser.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    test = actions.add_parser(
        "test", help="send a test notification to each configured receiver and report each result"
    )
    test.add_argument("--config", required=True, type=Path, help="the daemon's YAML config file")
    test.add_argument(
        "--receiver", action="append", default=None, help="only this receiver (repeatable)"
    )
    test.add_argument("--json", action="store_true", help="print the results as JSON")
    test.set_defaults(func=run_test)


def load_alerting_section(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The whole config file (``${ENV}`` substituted as the daemon does) and its ``alerting:``
    mapping (empty if absent)."""
    from monitor.config import ConfigError as MonitorConfigError
    from monitor.config import substitute_env

    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    try:
        document = substitute_env(document)
    except MonitorConfigError as error:
        raise ValueError(str(error)) from None
    section = document.get("alerting") or {}
    return document, section


def run_test(args: argparse.Namespace) -> int:
    from alerting.config import parse_alerting_config
    from alerting.errors import ConfigError
    from alerting.probe import send_test_notifications

    try:
        _, section = load_alerting_section(args.config)
        config = parse_alerting_config(section)
    except (OSError, ValueError, yaml.YAMLError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    only = set(args.receiver) if args.receiver else None
    unknown = (only or set()) - {receiver.name for receiver in config.receivers}
    if unknown:
        print(f"error: no receiver named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if not config.receivers:
        print("no receivers configured under alerting.receivers", file=sys.stderr)
        return 2
    results = send_test_notifications(config, time.time(), only)
    if args.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
    else:
        width = max(len(result.receiver) for result in results)
        for result in results:
            mark = "ok  " if result.ok else "FAIL"
            print(f"{mark} {result.receiver.ljust(width)}  {result.type:<10}  {result.detail}")
    return 0 if all(result.ok for result in results) else 1
