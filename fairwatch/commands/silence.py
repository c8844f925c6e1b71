"""``fairwatch silence add|list|expire``: time-boxed mutes of alerts, stored in the state dir.

The state dir is ``--state-dir DIR`` or the ``state_dir`` key of ``--config FILE`` (the daemon's
YAML; ``./fairwatch-state`` when the key is absent, as for the daemon); the running daemon picks
silences up at its next tick.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path
from typing import Any

ORDER = 61
DEFAULT_STATE_DIR = "./fairwatch-state"  # the daemon's default state_dir


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
    where.add_argument("--state-dir", type=Path, help="the daemon's state directory")


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    """The alert store and the alerting config named by ``--config`` / ``--state-dir``."""
    from alerting.config import parse_alerting_config
    from alerting.store import AlertStore

    section: dict[str, Any] = {}
    state_dir = args.state_dir
    if args.config is not None:
        from fairwatch.commands.alerts import load_alerting_section

        document, section = load_alerting_section(args.config)
        state_dir = Path(str(document.get("state_dir") or DEFAULT_STATE_DIR))
    config = parse_alerting_config(section)
    return AlertStore(Path(state_dir) / config.storage.path), config


def _fail(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


def run_add(args: argparse.Namespace) -> int:
    from alerting.durations import parse_duration
    from alerting.errors import AlertingError
    from alerting.silences import new_silence

    try:
        store, config = _open(args)
        silence = new_silence(
            args.matchers,
            starts_at=time.time(),
            duration=parse_duration(args.duration),
            max_duration=config.silences.max_duration,
            created_by=args.author or getpass.getuser(),
            comment=args.comment,
        )
        store.add_silence(silence)
        store.close()
    except (OSError, ValueError, AlertingError) as error:
        return _fail(error)
    print(f"{silence.id}  until {_iso(silence.ends_at)}  {' '.join(map(str, silence.matchers))}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from alerting.errors import AlertingError

    now = time.time()
    try:
        store, _ = _open(args)
        silences = store.silences(now, include_expired=args.all)
        store.close()
    except (OSError, ValueError, AlertingError) as error:
        return _fail(error)
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

    try:
        store, _ = _open(args)
        found = store.expire_silence(args.silence_id, time.time())
        store.close()
    except (OSError, ValueError, AlertingError) as error:
        return _fail(error)
    if not found:
        print(f"error: no single silence with id {args.silence_id!r}", file=sys.stderr)
        return 1
    print(f"expired {args.silence_id}")
    return 0


def _iso(epoch: float) -> str:
    from alerting.render import format_time

    return format_time(epoch)
