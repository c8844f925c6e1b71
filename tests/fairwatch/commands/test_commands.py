"""The subcommand modules (:mod:`fairwatch.commands`): each registers its own parser and runs.

Every module is imported by name and registered on a parser of its own: it adds the
subcommands it names, each with a ``func`` that is one of the module's functions. The small
shared helpers are checked directly; what each command does is tested through the ``fairwatch``
entry point in the other test files.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pytest

from fairwatch.commands._config import EXIT_CONFIG, config_error_line, load_or_report
from tests.paths import ROOT

# module → (subcommand words that must parse, the first word of the command line)
COMMANDS = {
    "alerts": ["alerts", "test", "--config", "c.yaml"],
    "audit": ["audit", "rows.jsonl", "--sensitive", "sex"],
    "backtest": ["backtest", "events.jsonl", "--config", "c.yaml"],
    "check_config": ["check-config", "c.yaml"],
    "demo": ["demo", "--short"],
    "report": ["report", "--config", "c.yaml", "--from", "2026-01-05", "--to", "2026-01-12"],
    "run": ["run", "--config", "c.yaml"],
    "silence": ["silence", "list", "--config", "c.yaml"],
    "version": ["version"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_module_registers_its_command_with_a_function_of_its_own(name: str) -> None:
    module = importlib.import_module(f"fairwatch.commands.{name}")
    assert isinstance(module.ORDER, int)
    parser = argparse.ArgumentParser(prog="fairwatch")
    module.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(COMMANDS[name])
    assert args.command == COMMANDS[name][0]
    assert callable(args.func) and args.func.__module__ == module.__name__


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    from fairwatch.commands import version
    from monitor import __version__

    assert version.run(argparse.Namespace()) == 0
    assert capsys.readouterr().out == f"fairwatch {__version__}\n"


def test_check_config_summarises_the_example_configuration(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fairwatch.commands import check_config

    example = ROOT / "deploy" / "config" / "fairwatch.yaml"
    monkeypatch.setenv("INFLUXDB_TOKEN", "x")
    monkeypatch.delenv("FAIRWATCH_WEBHOOK_URL", raising=False)
    # a secret the example reads is unset: one line naming it, exit 2
    assert check_config.run(argparse.Namespace(file=str(example))) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "FAIRWATCH_WEBHOOK_URL" in err and err.count("\n") == 1
    monkeypatch.setenv("FAIRWATCH_WEBHOOK_URL", "https://hooks.example.invalid/x")
    config = load_or_report(example)
    assert config is not None
    assert check_config.run(argparse.Namespace(file=str(example))) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{example}: ok — topics {config.kafka.predictions_topic}/")
    assert "alerting on" in out


def test_an_invalid_configuration_is_one_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("windows: [1h]\nsensitive: {attributes: []}\n")
    assert load_or_report(bad) is None
    err = capsys.readouterr().err
    assert err.startswith(f"fairwatch: invalid configuration {bad}: ") and err.count("\n") == 1
    line = config_error_line("f.yaml", ValueError("first\n  second\n"))
    assert line == "fairwatch: invalid configuration f.yaml: first; second"
