"""Entry point of the ``fairwatch`` console script.

Each subcommand (or group of subcommands) lives in its own module under ``fairwatch/commands/``
exposing ``ORDER: int`` and ``register(subparsers) -> None``; the module adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code) as a default. Modules
are discovered, so adding a command touches no other file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

from fairwatch import commands


def command_modules() -> list[ModuleType]:
    """The subcommand modules, in the order shown by ``--help``."""
    modules = [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in pkgutil.iter_modules(commands.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(modules, key=lambda module: (getattr(module, "ORDER", 100), module.__name__))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fairwatch",
        description="Streaming production fairness monitor.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    code: int = func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
