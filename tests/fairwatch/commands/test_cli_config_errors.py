"""Every configuration error, in every command that reads the daemon's config, is exit 2 and one
line on stderr naming the file and the key; ``silence`` never creates the state directory and
warns about matchers that can match no alert of the configuration."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerting.config import RuleConfig
from alerting.model import AlertKey
from alerting.rules import alert_labels
from alerting.silences import ALERT_LABELS, LabelValues, parse_matcher, unmatched
from fairwatch.app import load
from fairwatch.cli import main
from monitor.config import ConfigError
from tests.paths import ROOT

UNSET = ("FW_TEST_UNSET_URL", "FW_TEST_UNSET_HOOK", "FW_TEST_UNSET_SECRET", "FW_TEST_UNSET_TOKEN")


def base(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    """A valid config: unreachable Kafka (a test that got past the config would notice)."""
    state_dir = tmp_path / "state"
    state_dir.mkdir(exist_ok=True)
    document: dict[str, Any] = {
        "kafka": {"bootstrap_servers": "127.0.0.1:9"},
        "models": {"credit-v3": {}, "credit-v4": {"threshold": 0.6}},
        "sensitive": {"attributes": ["sex", "race"], "intersections": [["sex", "race"]]},
        "windows": ["1h", "1d/1h"],
        "embedded_sink": {"path": str(tmp_path / "metrics.sqlite")},
        "state_dir": str(state_dir),
        "alerting": {
            "rules": [
                {
                    "name": "dp",
                    "condition": "demographic_parity_difference > 0.1",
                    "labels": {"team": "risk"},
                }
            ],
        },
    }
    document.update(changes)
    return document


def write(tmp_path: Path, document: Any, name: str = "fw.yaml") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return path


WEBHOOK_SECRET = {
    "receivers": [{"type": "webhook", "name": "hook", "url_env": "FW_TEST_UNSET_SECRET"}]
}
INFLUX_TOKEN = {
    "url": "http://127.0.0.1:9",
    "org": "o",
    "bucket": "b",
    "token_env": "FW_TEST_UNSET_TOKEN",
}

# kind -> (what to write, given the base document; the key path the error line must name)
ERRORS: dict[str, tuple[Any, str]] = {
    "yaml_syntax": (
        lambda d: "kafka: [unclosed\nsensitive: {attributes: [sex]}\n",
        "not valid YAML: line 2, column 10: expected ',' or ']'",
    ),
    "missing_file": (None, "cannot read the file: No such file or directory"),
    "not_a_mapping": (lambda d: "- kafka\n- models\n", "(top level): expected a mapping"),
    "wrong_type": (lambda d: {**d, "health": {"port": "eighty"}}, "health.port: "),
    "unknown_key": (lambda d: {**d, "kafka": {"grup_id": "x"}}, "kafka.grup_id: unknown key"),
    "bad_duration": (
        lambda d: {**d, "label_horizon": "soon"},
        "label_horizon: expected a duration",
    ),
    "bad_engine_setting": (
        lambda d: {**d, "engine": {"ci_level": 1.5}},
        "engine.ci_level: must lie in (0, 1), got 1.5",
    ),
    "missing_section": (
        lambda d: {k: v for k, v in d.items() if k != "sensitive"},
        "sensitive: is required",
    ),
    "unset_env": (
        lambda d: {**d, "influxdb": {**INFLUX_TOKEN, "url": "${FW_TEST_UNSET_URL}"}},
        "influxdb.url: environment variable FW_TEST_UNSET_URL is not set",
    ),
    "unset_env_in_alerting": (
        lambda d: {
            **d,
            "alerting": {
                "receivers": [{"type": "webhook", "name": "hook", "url": "${FW_TEST_UNSET_HOOK}"}]
            },
        },
        "alerting.receivers[0].url: environment variable FW_TEST_UNSET_HOOK is not set",
    ),
    "alerting_schema": (
        lambda d: {**d, "alerting": {"rules": [{"name": "r", "condition": "nonsense"}]}},
        "alerting.rules[0].condition: ",
    ),
    "alerting_duration": (
        lambda d: {**d, "alerting": {"routing": {"group_wait": "soon"}}},
        "alerting.routing.group_wait: expected a duration such as 30s, 5m, 1h, 30d",
    ),
    "alerting_reference": (
        lambda d: {
            **d,
            "alerting": {"rules": [{"name": "r", "condition": "> 0.1", "receivers": ["nobody"]}]},
        },
        "alerting.rules[0].receivers: unknown receiver 'nobody'",
    ),
    "no_sink": (
        lambda d: {k: v for k, v in d.items() if k != "embedded_sink"},
        "influxdb: one of influxdb or embedded_sink must be configured",
    ),
}
# secrets the daemon reads when it starts: errors for run and check-config only
SECRETS: dict[str, tuple[Any, str]] = {
    "unset_receiver_secret": (
        lambda d: {**d, "alerting": WEBHOOK_SECRET},
        "alerting.receivers[0].url_env: environment variable FW_TEST_UNSET_SECRET is not set",
    ),
    "unset_influxdb_token": (
        lambda d: {**d, "influxdb": INFLUX_TOKEN},
        "influxdb.token_env: environment variable FW_TEST_UNSET_TOKEN is not set",
    ),
    "unset_report_secret": (
        lambda d: {**d, "reports": [{"name": "w", "webhook": {"url_env": "FW_TEST_UNSET_HOOK"}}]},
        "reports[0].webhook.url_env: environment variable FW_TEST_UNSET_HOOK is not set",
    ),
}

COMMANDS: dict[str, list[str]] = {
    "run": ["run", "--config", "{path}"],
    "check-config": ["check-config", "{path}"],
    "alerts test": ["alerts", "test", "--config", "{path}"],
    "silence add": ["silence", "add", "--config", "{path}", "model_id=credit-v3"],
    "silence list": ["silence", "list", "--config", "{path}"],
    "silence expire": ["silence", "expire", "--config", "{path}", "0123456789ab"],
    "report": ["report", "--config", "{path}", "--from", "2026-01-05", "--to", "2026-01-06"],
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def no_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run`` must stop at the configuration, before anything touches Kafka."""

    def build_daemon(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("fairwatch run got past an invalid configuration")

    monkeypatch.setattr("fairwatch.app.build_daemon", build_daemon)


def config_file(tmp_path: Path, make: Any) -> Path:
    if make is None:
        return tmp_path / "missing.yaml"
    return write(tmp_path, make(base(tmp_path)))


def argv(command: str, path: Path) -> list[str]:
    return [part.replace("{path}", str(path)) for part in COMMANDS[command]]


def assert_one_line(err: str, path: Path, expected: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"fairwatch: invalid configuration {path}: "), err
    assert expected in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", ERRORS)
def test_every_config_error_is_exit_2_and_one_line(
    kind: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, expected = ERRORS[kind]
    path = config_file(tmp_path, make)
    assert main(argv(command, path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line(err, path, expected)


@pytest.mark.parametrize("command", ["run", "check-config"])
@pytest.mark.parametrize("kind", SECRETS)
def test_unset_secrets_fail_run_and_check_config_alike(
    kind: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, expected = SECRETS[kind]
    path = config_file(tmp_path, make)
    assert main(argv(command, path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line(err, path, expected)


def test_check_config_reports_what_run_fails_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, base(tmp_path, alerting=WEBHOOK_SECRET, influxdb=INFLUX_TOKEN))
    assert main(["run", "--config", str(path)]) == 2
    run_err = capsys.readouterr().err
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err == run_err
    # every problem at once, on the one line
    assert "influxdb.token_env" in run_err and "alerting.receivers[0].url_env" in run_err


def test_all_unset_variables_are_named_at_once(tmp_path: Path) -> None:
    document = base(
        tmp_path, state_dir="${FW_TEST_UNSET_URL}", kafka={"group_id": "g-${FW_TEST_UNSET_HOOK}"}
    )
    with pytest.raises(ConfigError) as error:
        load(write(tmp_path, document), environ={})
    assert str(error.value) == (
        "kafka.group_id: environment variable FW_TEST_UNSET_HOOK is not set "
        "(used as ${FW_TEST_UNSET_HOOK}); "
        "state_dir: environment variable FW_TEST_UNSET_URL is not set "
        "(used as ${FW_TEST_UNSET_URL})"
    )


def test_secrets_set_or_not_required(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, base(tmp_path, alerting=WEBHOOK_SECRET, influxdb=INFLUX_TOKEN))
    environ = {"FW_TEST_UNSET_SECRET": "https://hooks.example.com/x", "FW_TEST_UNSET_TOKEN": "t"}
    assert load(path, environ=environ).influxdb is not None
    with pytest.raises(ConfigError, match="FW_TEST_UNSET_TOKEN is not set"):
        load(path, environ={**environ, "FW_TEST_UNSET_TOKEN": ""})  # empty is not a token
    assert load(path, secrets=False, environ={}).alerting is not None
    # silence reads no secret; alerts test reports the receiver as failed (exit 1, not 2)
    assert main(["silence", "add", "--config", str(path), "model_id=credit-v3"]) == 0
    assert main(["alerts", "test", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL hook" in out and "FW_TEST_UNSET_SECRET is not set" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe not utf-8", "cannot read the file: it is not UTF-8 text"),
        (None, "cannot read the file: Is a directory"),
        (b"a: b: c\n", "not valid YAML: line 1, column 5: mapping values are not allowed here"),
        (b"", "(top level): expected a mapping"),
        (b"a: &a [*a]\n", "(top level): nested too deeply"),
    ],
)
def test_unreadable_and_malformed_files(
    content: bytes | None, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "fw.yaml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    assert main(["check-config", str(path)]) == 2
    assert_one_line(capsys.readouterr().err, path, expected)


def fairwatch(*args: str, program: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    return subprocess.run(
        [*(program or [sys.executable, "-m", "fairwatch.cli"]), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", ["run", "check-config", "alerts test", "silence add"])
def test_a_separate_process_exits_2_with_one_line(command: str, tmp_path: Path) -> None:
    """What systemd and a shell see: the exit status and stderr, no traceback."""
    document = base(tmp_path, influxdb={**INFLUX_TOKEN, "url": "${FW_TEST_UNSET_URL}"})
    path = write(tmp_path, document)
    result = fairwatch(*argv(command, path))
    assert result.returncode == 2, result.stderr
    assert_one_line(result.stderr, path, "influxdb.url: environment variable FW_TEST_UNSET_URL")
    assert result.stdout == ""


SCRIPT = shutil.which("fairwatch", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize(
    "program",
    [
        [sys.executable, "-m", "fairwatch.cli"],
        pytest.param(
            [SCRIPT or "fairwatch"],
            marks=pytest.mark.skipif(SCRIPT is None, reason="no fairwatch console script"),
        ),
    ],
    ids=["python -m", "console script"],
)
def test_the_reported_bug_run_with_an_unset_receiver_secret(
    program: list[str], tmp_path: Path
) -> None:
    """Was: a traceback and exit 1 from ``run`` while ``check-config`` printed ok."""
    path = write(tmp_path, base(tmp_path, alerting=WEBHOOK_SECRET))
    run = fairwatch("run", "--config", str(path), program=program)
    check = fairwatch("check-config", str(path), program=program)
    for result in (run, check):
        assert result.returncode == 2, result.stderr
        assert_one_line(result.stderr, path, "alerting.receivers[0].url_env")
    assert run.stderr == check.stderr


# silence: the state directory -----------------------------------------------------------------


@pytest.mark.parametrize("action", [["add", "model_id=credit-v3"], ["list"], ["expire", "abc"]])
@pytest.mark.parametrize("where", ["--config", "--state-dir"])
def test_silence_refuses_a_missing_state_dir(
    action: list[str], where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = tmp_path / "var" / "lib" / "fairwatch"
    path = write(tmp_path, base(tmp_path, state_dir=str(state_dir)))
    target = str(path) if where == "--config" else str(state_dir)
    assert main(["silence", action[0], where, target, *action[1:]]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert err.startswith(f"fairwatch: state_dir {state_dir} ")
    assert "does not exist" in err and "the daemon creates it on its first run" in err
    assert not (tmp_path / "var").exists()


def test_silence_refuses_a_missing_store_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = base(tmp_path)
    document["alerting"]["storage"] = {"path": "alerts/alerting.sqlite"}
    path = write(tmp_path, document)
    assert main(["silence", "add", "--config", str(path), "model_id=credit-v3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fairwatch: alerting.storage.path {tmp_path / 'state' / 'alerts'} ")
    assert not (tmp_path / "state" / "alerts").exists()


def silences(path: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["silence", "list", "--config", str(path), "--json"]) == 0
    listed: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return listed


@pytest.mark.parametrize(
    ("matcher", "expected"),
    [
        ("model_id=credit-v9", "matches none of the models in models: credit-v3, credit-v4"),
        ("model_id=~credit-v[5-9]", "matches none of the models in models"),
        (
            "attribute=rcae",
            "matches none of the attributes in sensitive.attributes: sex, race, race&sex",
        ),
        ("rule=dp-difference", "matches none of the rules in alerting.rules: dp"),
        ("window=2h", "matches none of the windows: 1h, 1d/1h"),
        ("severity=crit", "matches none of the severities: info, warning, critical"),
        ("modelid=credit-v3", "no alert has a label 'modelid'"),
    ],
)
def test_silence_add_warns_about_a_matcher_that_matches_nothing(
    matcher: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, base(tmp_path))
    assert main(["silence", "add", "--config", str(path), matcher, "--author", "ana"]) == 0
    out, err = capsys.readouterr()
    silence_id = out.split()[0]
    (line,) = err.splitlines()
    assert line.startswith(f"fairwatch: warning: matcher {matcher} ")
    assert expected in line and silence_id in line
    assert [s["matchers"] for s in silences(path, capsys)] == [[matcher]]  # created anyway


@pytest.mark.parametrize(
    "matchers",
    [
        ["model_id=credit-v3"],
        ["model_id=~credit-.*", "attribute=race&sex"],
        ["attribute=sex", "rule=dp", "alertname=~d.*", "window=1d/1h", "severity=warning"],
        ["team=risk", "group=Female", "metric=demographic_parity_difference"],
        ["model_id!=credit-v9", "nolabel!=x", "nolabel="],
    ],
)
def test_silence_add_is_quiet_for_matchers_that_can_match(
    matchers: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, base(tmp_path))
    assert main(["silence", "add", "--config", str(path), *matchers]) == 0
    assert capsys.readouterr().err == ""


def test_any_model_may_be_silenced_when_unknown_models_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, changes in {"open": {"accept_unknown_models": True}, "any": {"models": {}}}.items():
        (tmp_path / name).mkdir()
        path = write(tmp_path / name, base(tmp_path / name, **changes))
        assert main(["silence", "add", "--config", str(path), "model_id=credit-v9"]) == 0
        assert capsys.readouterr().err == ""


def test_silence_with_a_state_dir_has_no_config_to_check_against(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    assert main(["silence", "add", "--state-dir", str(state_dir), "attribute=rcae"]) == 0
    assert capsys.readouterr().err == ""


def test_unmatched_is_a_pure_check() -> None:
    known = {"model_id": LabelValues(("a", "b"), "the models in models")}
    matchers = [parse_matcher(text) for text in ("model_id=c", "model_id=~[ab]", "x=1", "y!=1")]
    assert unmatched(matchers, known) == [
        "matcher model_id=c matches none of the models in models: a, b"
    ]
    assert unmatched(matchers, known, label_names={"model_id"})[1:] == [
        "matcher x=1 matches no alert: no alert has a label 'x' (labels: model_id)"
    ]
    assert unmatched([parse_matcher("model_id=a")], {"model_id": LabelValues((), "models")}) == [
        "matcher model_id=a matches none of models: none configured"
    ]


def test_alert_labels_are_all_known_to_the_silence_check() -> None:
    rule = RuleConfig.model_validate(
        {"name": "dp", "condition": "> 0.1", "labels": {"team": "risk"}}
    )
    key = AlertKey("dp", "m", "sex", "demographic_parity_difference", "1h", "Female", "low_volume")
    assert set(alert_labels(rule, key, "warning")) <= {*ALERT_LABELS, "team"}


def test_a_state_dir_of_the_other_kafka_mode_is_exit_2_before_kafka(tmp_path: Path) -> None:
    """An events-mode state_dir given to an evaluator (kafka.mode: pane_counts): one line, no
    traceback, before any connection (the broker here is unreachable)."""
    from monitor.config import config_from_dict
    from monitor.stream.pipeline import Pipeline
    from monitor.stream.state import StateStore

    events = base(tmp_path)
    written = Pipeline(config_from_dict(events), StateStore(events["state_dir"]))
    written.checkpoint()
    written.close()
    path = write(tmp_path, {**events, "kafka": {**events["kafka"], "mode": "pane_counts"}})
    result = fairwatch("run", "--config", str(path))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "written in kafka.mode events, the config now gives pane_counts" in line
