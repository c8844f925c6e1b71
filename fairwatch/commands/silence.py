"""``fairwatch silence add|list|expire``: time-boxed mutes of alerts, stored in the state dir.

The state dir is ``--state-dir DIR`` or the ``state_dir`` key of ``--config FILE`` (the daemon's
YAML, validated as ``fairwatch run`` does; ``./fairwatch-state`` when the key is absent, as for
the daemon); the running daemon picks silences up at its next tick. The state dir is never
created here: the daemon creates it (with its own owner) on its first run, so a missing one is a
wrong path or a daemon that never ran, and is refused. With ``--config``, ``add`` warns about a
matcher that can match no alert of that configuration (``attribute=rcae``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sqlite3
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fairwatch.commands._config import EXIT_CONFIG, load_or_report

if TYPE_CHECKING:
    from alerting.config import AlertingConfig
    from alerting.silences import LabelValues, Matcher
    from alerting.store import AlertStore
    from monitor.config import MonitorConfig

ORDER = 61


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("silence", help="add, list or expire alert silences")
    actions = parser.add_subparsers(dest="silence_command", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="silence alerts whose labels match every matcher")
    _state_arguments(add)
    add.add_argument(
        "matchers",
        nargs="+",
        metavar="MATCHER",
        help="label matcher: name=value, name!=value, name=~regex or name!~regex",
    )
    add.add_argument("--duration", default="2h", help="how long (e.g. 30m, 2h, 1d); default 2h")
    add.add_argument("--comment", default="", help="why (shown by `silence list`)")
    add.add_argument("--author", default=None, help="who (default: the current user)")
    add.set_defaults(func=run_add)

    listing = actions.add_parser("list", help="list active and pending silences")
    _state_arguments(listing)
    listing.add_argument("--all", action="store_true", help="include expired silences")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=run_list)

    expire = actions.add_parser("expire", help="end a silence now")
    _state_arguments(expire)
    expire.add_argument("silence_id", help="the silence id (or a unique prefix of it)")
    expire.set_defaults(func=run_expire)


def _state_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", type=Path, help="the daemon's YAML config (uses its state_dir)")
    where.add_argument(
        "--state-dir", type=Path, help="the daemon's state directory (it must exist)"
    )


@dataclass(frozen=True)
class _Target:
    """Where the silences are and what the configuration says about them."""

    store_path: Path
    alerting: AlertingConfig
    config: MonitorConfig | None  # None with --state-dir

    def open(self) -> AlertStore:
        from alerting.store import AlertStore

        return AlertStore(self.store_path)


def _target(args: argparse.Namespace) -> _Target | None:
    """The alert store named by ``--config`` / ``--state-dir``; ``None`` once the reason it cannot
    be used (invalid configuration, missing state dir) has been printed."""
    from alerting.config import parse_alerting_config

    config = None
    if args.config is not None:
        # receivers' secrets are not needed to add or list silences
        config = load_or_report(args.config, secrets=False)
        if config is None:
            return None
        state_dir = Path(config.state_dir)
        source = f"from {args.config}"
    else:
        state_dir = args.state_dir
        source = "from --state-dir"
    alerting = parse_alerting_config(None if config is None else config.alerting)
    store_path = state_dir / alerting.storage.path
    directory = store_path.parent
    if not directory.is_dir():
        key = "state_dir" if directory == state_dir else "alerting.storage.path"
        problem = "is not a directory" if directory.exists() else "does not exist"
        print(
            f"fairwatch: {key} {directory} ({source}) {problem}; the daemon creates it on its "
            "first run: start the daemon once, or name the state directory it uses",
            file=sys.stderr,
        )
        return None
    return _Target(store_path, alerting, config)


def _fail(error: Exception, target: _Target) -> int:
    if isinstance(error, sqlite3.Error):  # e.g. a state dir this user may not write to
        print(
            f"fairwatch: cannot use the alert store {target.store_path}: {error}", file=sys.stderr
        )
    else:
        print(f"fairwatch: {error}", file=sys.stderr)
    return EXIT_CONFIG


def run_add(args: argparse.Namespace) -> int:
    from alerting.errors import AlertingError
    from alerting.silences import new_silence
    from monitor.config.durations import parse_duration

    target = _target(args)
    if target is None:
        return EXIT_CONFIG
    try:
        duration = parse_duration(args.duration)
    except ValueError as error:
        print(f"fairwatch: --duration: {error}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        silence = new_silence(
            args.matchers,
            starts_at=time.time(),
            duration=duration,
            max_duration=target.alerting.silences.max_duration,
            created_by=args.author or getpass.getuser(),
            comment=args.comment,
        )
        store = target.open()
        store.add_silence(silence)
        store.close()
    except (OSError, ValueError, sqlite3.Error, AlertingError) as error:
        return _fail(error, target)
    print(f"{silence.id}  until {_iso(silence.ends_at)}  {' '.join(map(str, silence.matchers))}")
    if target.config is not None:
        for warning in _warnings(silence.matchers, target.config, target.alerting):
            print(f"fairwatch: warning: {warning} (silence {silence.id} added)", file=sys.stderr)
    return 0


def _warnings(
    matchers: Iterable[Matcher], config: MonitorConfig, alerting: AlertingConfig
) -> list[str]:
    """``unmatched`` with every label value ``config`` determines."""
    from alerting.silences import ALERT_LABELS, SEVERITIES, LabelValues, unmatched
    from monitor.engine.groups import intersection_name

    rules = tuple(rule.name for rule in alerting.rules)
    attributes = tuple(config.sensitive.attributes) + tuple(
        intersection_name(members) for members in config.sensitive.intersections
    )
    known: dict[str, LabelValues] = {
        "attribute": LabelValues(attributes, "the attributes in sensitive.attributes"),
        "rule": LabelValues(rules, "the rules in alerting.rules"),
        "alertname": LabelValues(rules, "the rules in alerting.rules"),
        "window": LabelValues(tuple(spec.name for spec in config.windows), "the windows"),
        "severity": LabelValues(SEVERITIES, "the severities"),
    }
    if config.models and not config.accept_unknown_models:  # else any model_id is processed
        known["model_id"] = LabelValues(tuple(config.models), "the models in models")
    label_names = {*ALERT_LABELS, *(name for rule in alerting.rules for name in rule.labels)}
    return unmatched(matchers, known, label_names)


def run_list(args: argparse.Namespace) -> int:
    from alerting.errors import AlertingError

    now = time.time()
    target = _target(args)
    if target is None:
        return EXIT_CONFIG
    try:
        store = target.open()
        silences = store.silences(now, include_expired=args.all)
        store.close()
    except (OSError, ValueError, sqlite3.Error, AlertingError) as error:
        return _fail(error, target)
    rows = [
        {
            "id": silence.id,
            "state": silence.state(now),
            "matchers": [str(matcher) for matcher in silence.matchers],
            "starts_at": _iso(silence.starts_at),
            "ends_at": _iso(silence.ends_at),
            "created_by": silence.created_by,
            "comment": silence.comment,
        }
        for silence in silences
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no silences")
    for row in rows:
        print(
            f"{row['id']}  {row['state']:<8}  {row['starts_at']} → {row['ends_at']}  "
            f"{' '.join(row['matchers'])}  by {row['created_by']}"
            + (f": {row['comment']}" if row["comment"] else "")
        )
    return 0


def run_expire(args: argparse.Namespace) -> int:
    from alerting.errors import AlertingError

    target = _target(args)
    if target is None:
        return EXIT_CONFIG
    try:
        store = target.open()
        found = store.expire_silence(args.silence_id, time.time())
        store.close()
    except (OSError, ValueError, sqlite3.Error, AlertingError) as error:
        return _fail(error, target)
    if not found:
        print(f"fairwatch: no single silence with id {args.silence_id!r}", file=sys.stderr)
        return 1
    print(f"expired {args.silence_id}")
    return 0


def _iso(epoch: float) -> str:
    from alerting.render import format_time

    return format_time(epoch)
