"""``fairwatch run --config FILE``: the streaming daemon.

Exit status: 0 after a stop (SIGTERM or SIGINT, at any moment: within ``pipeline.shutdown_timeout``
plus a few seconds), 2 invalid configuration, 3 another instance (state directory locked or
consumer group shared), 4 the source cannot run (Kafka unreachable within
``kafka.startup_timeout``, a topic missing, no partitions assigned).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

from fairwatch.commands._config import EXIT_CONFIG

if TYPE_CHECKING:
    from monitor.stream.daemon import Daemon

ORDER = 10

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
    from monitor.kafka.connection import install_connection_log
    from monitor.stream.pipeline import StateMismatchError
    from monitor.stream.state import StateLockedError

    early_signals = _hold_stop_signals()
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("urllib3", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    config = load_or_report(args.config, warn=True)
    if config is None:
        return EXIT_CONFIG
    # With the consumer in its own process, that process reports the cluster's state changes.
    install_connection_log(
        config.kafka.bootstrap_servers,
        logging.getLogger().level,
        report=not config.kafka.consumer_process or config.kafka.mode == "pane_counts",
    )
    try:
        daemon = build_daemon(config)
    except StateLockedError as error:
        print(f"fairwatch: refusing to start: {error}", file=sys.stderr)
        return EXIT_CONFLICT
    except StateMismatchError as error:
        print(f"fairwatch: invalid configuration: {error}", file=sys.stderr)
        return EXIT_CONFIG
    daemon.install_signal_handlers()  # before run(): starting may wait for the broker
    if early_signals:
        logging.getLogger(__name__).info(
            "event=stop_requested signal=%s", signal.Signals(early_signals[0]).name
        )
        daemon.stop()
    code = _run(daemon)
    if daemon.abandoned:
        # Threads of abandoned shutdown steps (e.g. an alert delivery mid-request in a thread
        # pool that the interpreter joins at exit) must not delay the exit.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _run(daemon: Daemon) -> int:
    from monitor.kafka.errors import GroupConflictError, KafkaUnreachableError, SourceError

    try:
        return daemon.run()
    except GroupConflictError as error:
        print(f"fairwatch: refusing to start: {error}", file=sys.stderr)
        return EXIT_CONFLICT
    except KafkaUnreachableError as error:
        print(f"fairwatch: {error}", file=sys.stderr)
        return EXIT_SOURCE
    except SourceError as error:
        print(f"fairwatch: cannot consume: {error}", file=sys.stderr)
        return EXIT_SOURCE


def _hold_stop_signals() -> list[int]:
    """Until the daemon installs its own handlers, remember SIGTERM and SIGINT (instead of dying
    half-way through start-up, or a KeyboardInterrupt traceback); the daemon then stops at once."""
    received: list[int] = []

    def remember(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGTERM, remember)
    signal.signal(signal.SIGINT, remember)
    return received
