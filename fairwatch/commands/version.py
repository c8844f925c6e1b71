"""``fairwatch version``: print the installed version."""

from __future__ import annotations

import argparse
from typing import Any

from monitor import __version__

ORDER = 1000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("version", help="print the version")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(f"fairwatch {__version__}")
    return 0
