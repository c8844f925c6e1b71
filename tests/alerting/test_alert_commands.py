"""``fairwatch alerts test`` and ``fairwatch silence add|list|expire`` through the CLI."""

from __future__ import annotations

import json
import time

import yaml

from alerting import AlertManager
from fairwatch.cli import main
from tests.alerting.alert_builders import HOUR, config, evaluation, webhook
from tests.alerting.alert_servers import Reply, always


def write_config(tmp_path, alerting, state_dir=None):
    """A complete daemon config (the commands validate the whole file) with this alerting:."""
    document = {
        "sensitive": {"attributes": ["sex"]},
        "embedded_sink": {"path": str(tmp_path / "metrics.sqlite")},
        "alerting": alerting,
    }
    if state_dir is not None:
        document["state_dir"] = str(state_dir)
    path = tmp_path / "fairwatch.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_alerts_test_reports_each_receiver(http_server, tmp_path, monkeypatch, capsys) -> None:
    good = http_server(always(Reply(200)))
    broken = http_server(always(Reply(500, {"status": "unavailable"})))
    monkeypatch.setenv("FW_TEST_PD_KEY", "pd-routing-key")
    monkeypatch.delenv("FW_TEST_UNSET_TOKEN", raising=False)
    path = write_config(
        tmp_path,
        {
            "receivers": [
                {"type": "webhook", "name": "hook", "url": f"{good.url}/alerts"},
                {
                    "type": "pagerduty",
                    "name": "pd",
                    "routing_key_env": "FW_TEST_PD_KEY",
                    "url": f"{broken.url}/v2/enqueue",
                },
                {
                    "type": "slack",
                    "name": "slack",
                    "token_env": "FW_TEST_UNSET_TOKEN",
                    "channel": "#c",
                },
            ]
        },
    )
    code = main(["alerts", "test", "--config", str(path)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith("ok   hook") and "webhook" in out[0]
    assert out[1].startswith("FAIL pd") and "server: " in out[1] and "HTTP 500" in out[1]
    assert out[2].startswith("FAIL slack") and "FW_TEST_UNSET_TOKEN is not set" in out[2]
    assert "pd-routing-key" not in "\n".join(out)
    body = good.requests[0].json()
    assert body["test"] is True and body["alerts"][0]["rule"] == "fairwatch-test"
    assert broken.requests[0].json()["payload"]["summary"].startswith("[TEST]")

    assert main(["alerts", "test", "--config", str(path), "--receiver", "hook", "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result == {
        "receiver": "hook",
        "type": "webhook",
        "ok": True,
        "detail": "HTTP 200",
        "reason": None,
    }


def test_alerts_test_substitutes_env_like_the_daemon(http_server, tmp_path, monkeypatch, capsys):
    server = http_server(always(Reply(200)))
    monkeypatch.setenv("FW_TEST_WEBHOOK_URL", f"{server.url}/from-env")
    path = write_config(
        tmp_path,
        {
            "receivers": [
                {
                    "type": "webhook",
                    "name": "hook",
                    "url": "${FW_TEST_WEBHOOK_URL:-http://127.0.0.1:9/}",
                },
            ]
        },
    )
    assert main(["alerts", "test", "--config", str(path)]) == 0
    assert [r.path for r in server.requests] == ["/from-env"]
    monkeypatch.delenv("FW_TEST_WEBHOOK_URL")
    path.write_text(path.read_text().replace(":-http://127.0.0.1:9/", ""))
    assert main(["alerts", "test", "--config", str(path)]) == 2
    assert "FW_TEST_WEBHOOK_URL is not set" in capsys.readouterr().err


def test_alerts_test_rejects_a_bad_config(tmp_path, capsys) -> None:
    path = write_config(
        tmp_path,
        {
            "receivers": [
                {"type": "webhook", "name": "w", "timeout": -1, "url": "http://127.0.0.1:9/"}
            ]
        },
    )
    assert main(["alerts", "test", "--config", str(path)]) == 2
    assert "alerting.receivers[0].timeout" in capsys.readouterr().err


def test_silence_add_list_expire(http_server, tmp_path, capsys) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    path = write_config(tmp_path, {}, state_dir=state_dir)
    assert (
        main(
            [
                "silence",
                "add",
                "--config",
                str(path),
                "model_id=credit-v3",
                "rule=~d.*",
                "--duration",
                "2h",
                "--comment",
                "retraining in progress",
                "--author",
                "ana",
            ]
        )
        == 0
    )
    silence_id = capsys.readouterr().out.split()[0]

    assert main(["silence", "list", "--state-dir", str(state_dir), "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == silence_id and listed["state"] == "active"
    assert listed["matchers"] == ["model_id=credit-v3", "rule=~d.*"]
    assert (listed["created_by"], listed["comment"]) == ("ana", "retraining in progress")

    # the daemon's manager on the same state dir honours it
    server = http_server(always(Reply(200)))
    manager = AlertManager(config([webhook("hook", server.url)]), state_dir)
    now = time.time()
    manager.on_evaluations([evaluation(0.2, now - HOUR)], now - 60)
    manager.on_evaluations([evaluation(0.2, now)], now)
    manager.tick(now + 60)
    assert server.requests == []

    assert main(["silence", "expire", "--state-dir", str(state_dir), silence_id[:6]]) == 0
    capsys.readouterr()
    assert main(["silence", "list", "--state-dir", str(state_dir)]) == 0
    assert capsys.readouterr().out.strip() == "no silences"
    assert main(["silence", "list", "--state-dir", str(state_dir), "--all"]) == 0
    assert "expired" in capsys.readouterr().out
    manager.tick(now + 400)
    assert [r.json()["status"] for r in server.requests] == ["firing"]
    manager.stop()


def test_silence_errors(tmp_path, capsys, monkeypatch) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    assert main(["silence", "add", "--state-dir", str(state_dir), "model_id"]) == 2
    assert "expected name=value" in capsys.readouterr().err
    assert main(["silence", "add", "--state-dir", str(state_dir), "a=b", "--duration", "90d"]) == 2
    assert "exceeds alerting.silences.max_duration" in capsys.readouterr().err
    assert main(["silence", "expire", "--state-dir", str(state_dir), "nope"]) == 1
    # without a state_dir key the daemon's default applies, relative to the working directory
    monkeypatch.chdir(tmp_path)
    no_state = write_config(tmp_path, {})
    (tmp_path / "fairwatch-state").mkdir()
    assert main(["silence", "add", "--config", str(no_state), "a=b"]) == 0
    assert (tmp_path / "fairwatch-state" / "alerting.sqlite").exists()
