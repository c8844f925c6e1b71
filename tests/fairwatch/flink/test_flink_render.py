"""``fairwatch flink render``: the statement set's text, without a cluster (the integration test
under integration/ runs it on a real one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fairwatch.cli import main
from fairwatch.flink import contract, sql
from fairwatch.flink.job import JobOptions, render, state_ttl
from fairwatch.flink.submit import Cluster, SubmitError, find_flink_home
from fairwatch.flink.tables import RenderError, kafka_properties
from monitor.config import MonitorConfig


def config(**overrides: Any) -> MonitorConfig:
    data: dict[str, Any] = {
        "kafka": {"bootstrap_servers": ["a:9092", "b:9092"], "predictions_topic": "pre'ds"},
        "models": {"credit": {"threshold": 0.7}},
        "sensitive": {"attributes": ["sex", "race"], "intersections": [["sex", "race"]]},
        "windows": ["1h", "1d/1h", "15m"],
        "label_horizon": "30d",
        "embedded_sink": {"path": "x.db"},
    }
    data.update(overrides)
    return MonitorConfig.model_validate(data)


def test_literals_cannot_break_out_of_their_quotes() -> None:
    assert sql.literal("it's") == "'it''s'"
    assert sql.identifier("a`b") == "`a``b`"
    assert sql.json_path("sensitive", "o'brien") == "'$[''sensitive''][''o\\''brien'']'"
    assert sql.double(0.7) == "CAST(0.7 AS DOUBLE)"


def test_intervals_are_day_time_literals_below_a_hundred_days() -> None:
    assert sql.interval(30 * 86400) == "INTERVAL '30 00:00:00.000' DAY(2) TO SECOND(3)"
    assert sql.interval(3661.5) == "INTERVAL '0 01:01:01.500' DAY(2) TO SECOND(3)"
    with pytest.raises(ValueError, match="100 days"):
        sql.interval(100 * 86400)


def test_the_job_is_one_statement_set_over_both_topics() -> None:
    text = render(config(), JobOptions(pane_topic="panes", parallelism=2))
    assert text.count("CREATE TEMPORARY TABLE") == 4
    assert "'topic' = 'pre''ds'" in text
    assert "'topic' = 'labels'" in text
    assert "'properties.bootstrap.servers' = 'a:9092,b:9092'" in text
    assert "'properties.group.id' = 'fairwatch-flink'" in text
    assert "'connector' = 'upsert-kafka'" in text and "'topic' = 'panes'" in text
    assert "SET 'parallelism.default' = '2';" in text
    statement_set = text[text.index("EXECUTE STATEMENT SET") :]
    assert statement_set.count("INSERT INTO") == 3
    # one pane size per distinct step: 1h and 1d/1h share theirs
    assert text.count("CAST(3600.0 AS DOUBLE))") == 3  # sex, race, race&sex
    assert text.count("CAST(900.0 AS DOUBLE))") == 3
    assert '"attribute":"race&sex"' in text and "JSON_STRING(c.group_1 || '&' || c.group_0)" in text
    assert "WHEN model_id_text NOT IN ('credit') THEN 'unknown_model'" in text
    assert "WHEN 'credit' THEN CAST(0.7 AS DOUBLE)" in text


def test_both_sinks_write_transactions_committed_with_each_checkpoint() -> None:
    text = render(config(kafka={"group_id": "g"}), JobOptions(checkpoint_interval=2.5))
    assert "SET 'execution.checkpointing.mode' = 'EXACTLY_ONCE';" in text
    assert "SET 'execution.checkpointing.interval' = '2500 ms';" in text
    assert text.count("'sink.delivery-guarantee' = 'exactly-once'") == 2
    assert "'sink.transactional-id-prefix' = 'g-flink-dead-letters'" in text
    assert "'sink.transactional-id-prefix' = 'g-flink-panes'" in text
    assert text.count("'properties.transaction.timeout.ms' = '900000'") == 2
    # one writer of pane counts and progress: one transaction holds both
    assert "'sink.parallelism' = '1'" in text
    lenient = render(config(), JobOptions(delivery="at-least-once"))
    assert lenient.count("'sink.delivery-guarantee' = 'at-least-once'") == 2
    assert "transactional-id-prefix" not in lenient


def test_job_options_are_checked() -> None:
    with pytest.raises(ValueError, match="delivery"):
        JobOptions(delivery="maybe")
    with pytest.raises(ValueError, match="parallelism"):
        JobOptions(parallelism=0)
    with pytest.raises(ValueError, match="checkpoint interval"):
        JobOptions(checkpoint_interval=0)


def test_pane_counts_and_progress_share_one_aggregate_keyed_by_the_record_key() -> None:
    configured = config(kafka={"predictions_topic": 'pre"ds'})
    text = render(configured)
    insert = text[text.index("INSERT INTO fairwatch_pane_counts") :]
    assert insert.count("GROUP BY") == 1 and "GROUP BY record_key" in insert
    # the progress key names the predictions topic, JSON-escaped inside a SQL literal
    assert """',"progress":"pre\\"ds"}'""" in text
    assert "MAX(event_time) AS event_time" in insert
    assert "MAX(source_offset) AS source_offset" in insert
    bins = configured.engine.score_bins
    for cells in ("histogram_0_", "histogram_1_", "offsets_", "predictions_"):
        assert insert.count(f"AS {cells}") == bins, cells
    assert "AS score_predictions" in insert


def test_score_bins_beyond_the_job_limit_are_refused() -> None:
    with pytest.raises(ValueError, match=r"engine\.score_bins"):
        render(config(engine={"score_bins": 101}))
    assert render(config(engine={"score_bins": 3})).count("AS histogram_1_") == 3


def test_state_lives_for_the_horizon_the_largest_window_and_the_lateness() -> None:
    settings = config(allowed_lateness="10m")
    assert state_ttl(settings) == 30 * 86400 + 86400 + 600
    assert f"'table.exec.state.ttl' = '{(30 * 86400 + 86400 + 600) * 1000} ms'" in render(settings)


def test_unknown_models_are_accepted_when_the_config_says_so() -> None:
    text = render(config(accept_unknown_models=True))
    assert "'unknown_model'" not in text.split("EXECUTE")[0].split("fairwatch.detail")[0]


def test_every_reason_sql_gives_is_a_decoder_reason() -> None:
    from monitor.stream.decode import Reason

    text = render(config())
    given = {reason for reason in contract.DETAILS if f"THEN '{reason}'" in text}
    assert given <= {str(reason) for reason in Reason}
    assert given == set(contract.DETAILS)


def test_kafka_security_is_translated_to_java_client_properties() -> None:
    settings = config(
        kafka={
            "security": {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": "u",
                "sasl_plain_password": "p",
                "ssl_cafile": "/ca.pem",
            }
        }
    )
    properties = kafka_properties(settings)
    assert properties["properties.security.protocol"] == "SASL_SSL"
    assert properties["properties.ssl.truststore.type"] == "PEM"
    assert (
        'ScramLoginModule required username="u" password="p";'
        in (properties["properties.sasl.jaas.config"])
    )
    with pytest.raises(RenderError, match=r"kafka\.security\.ssl_keyfile"):
        kafka_properties(config(kafka={"security": {"ssl_keyfile": "k"}}))


def test_render_command_writes_the_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "fairwatch.yaml"
    file.write_text(
        "sensitive: {attributes: [sex]}\nembedded_sink: {path: x.db}\nlabel_horizon: 7d\n"
    )
    output = tmp_path / "job.sql"
    assert main(["flink", "render", "--config", str(file), "--output", str(output)]) == 0
    assert output.read_text().rstrip().endswith("END;")
    capsys.readouterr()
    file.write_text(
        "sensitive: {attributes: [sex]}\nembedded_sink: {path: x.db}\nlabel_horizon: 200d\n"
    )
    assert main(["flink", "render", "--config", str(file)]) == 2
    assert "100 days" in capsys.readouterr().err


def test_submit_needs_a_flink_home_with_the_gateway(tmp_path: Path) -> None:
    with pytest.raises(SubmitError, match="not a Flink home"):
        find_flink_home(str(tmp_path))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "sql-client.sh").write_text("")
    (tmp_path / "lib").mkdir()
    with pytest.raises(SubmitError, match="flink-sql-gateway"):
        find_flink_home(str(tmp_path))
    (tmp_path / "lib" / "flink-sql-gateway-2.2.1.jar").write_text("")
    assert find_flink_home(str(tmp_path)) == tmp_path
    command = Cluster(tmp_path, jobmanager="127.0.0.1:8081").command(Path("job.sql"))
    assert command[1:] == ["-Drest.address=127.0.0.1", "-Drest.port=8081", "-f", "job.sql"]
