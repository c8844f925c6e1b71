"""``fairwatch alerts test --config FILE``: send a test notification to each configured receiver."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fairwatch.commands._config import EXIT_CONFIG, load_or_report

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


def run_test(args: argparse.Namespace) -> int:
    from alerting.config import parse_alerting_config
    from alerting.probe import send_test_notifications

    # a receiver whose secret is unset is reported as its own FAIL line below, not as exit 2
    monitor_config = load_or_report(args.config, secrets=False)
    if monitor_config is None:
        return EXIT_CONFIG
    config = parse_alerting_config(monitor_config.alerting)
    only = set(args.receiver) if args.receiver else None
    unknown = (only or set()) - {receiver.name for receiver in config.receivers}
    if unknown:
        print(f"fairwatch: no receiver named {', '.join(sorted(unknown))}", file=sys.stderr)
        return EXIT_CONFIG
    if not config.receivers:
        print("fairwatch: no receivers configured under alerting.receivers", file=sys.stderr)
        return EXIT_CONFIG
    results = send_test_notifications(config, time.time(), only)
    if args.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
    else:
        width = max(len(result.receiver) for result in results)
        for result in results:
            mark = "ok  " if result.ok else "FAIL"
            print(f"{mark} {result.receiver.ljust(width)}  {result.type:<10}  {result.detail}")
    return 0 if all(result.ok for result in results) else 1
