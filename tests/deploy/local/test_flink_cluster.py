"""The pure parts of deploy/local/flink.py: versions, the Flink home's layout, config.yaml.

The cluster itself is exercised by tests/fairwatch/flink/integration (deploy/local/test.sh starts
it for the whole run)."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path
from types import ModuleType

from tests.paths import ROOT


def load_flink() -> ModuleType:
    name = "fairwatch_local_flink"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "deploy/local/flink.py")
        assert spec is not None and spec.loader is not None
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


flink = load_flink()


def test_versions_come_from_the_pom() -> None:
    assert flink.flink_version() == "2.2.1"
    assert flink.pom_property("flink.kafka.connector.version") == "5.0.0-2.2"


def test_config_keeps_to_loopback_and_checkpoints_into_the_state_directory(tmp_path: Path) -> None:
    text = flink.render_flink_config(tmp_path, 6001, 6002, 2, "--add-opens=x")
    settings = {
        key: json.loads(value)
        for key, value in (line.split(": ", 1) for line in text.splitlines()[1:])
    }
    assert settings["jobmanager.rpc.port"] == 6001 and settings["rest.port"] == 6002
    assert {settings[key] for key in settings if key.endswith(("address", "host"))} == {"127.0.0.1"}
    assert settings["taskmanager.numberOfTaskSlots"] == 2
    assert settings["state.backend.type"] == "rocksdb"
    assert settings["execution.checkpointing.dir"] == (tmp_path / "flink-checkpoints").as_uri()
    assert settings["env.java.opts.all"] == "--add-opens=x"


def test_unpack_takes_only_the_named_parts_of_the_pyflink_tree(tmp_path: Path) -> None:
    wheel = tmp_path / "w.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("pyflink/bin/jobmanager.sh", "#!/bin/bash\n")
        archive.writestr("pyflink/lib/flink-dist.jar", "jar")
        archive.writestr("pyflink/table/udf.py", "")
        archive.writestr("apache_flink-2.2.1.dist-info/METADATA", "")
    flink.unpack(wheel, ("bin/", "lib/"), tmp_path / "home")
    found = sorted(str(p.relative_to(tmp_path / "home")) for p in (tmp_path / "home").rglob("*.*"))
    assert found == ["bin/jobmanager.sh", "lib/flink-dist.jar"]


def test_java_options_are_read_from_the_distribution_config(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text(
        "env:\n  java:\n    opts:\n      all: --add-exports=a=b --add-opens=c=d\n"
    )
    assert flink.java_options(tmp_path) == "--add-exports=a=b --add-opens=c=d"


def test_a_crashed_taskmanager_is_noticed_within_seconds(tmp_path: Path) -> None:
    text = flink.render_flink_config(tmp_path, 6001, 6002, 4, "")
    settings = dict(line.split(": ", 1) for line in text.splitlines()[1:])
    assert int(settings["heartbeat.interval"]) <= 2000
    assert settings["execution.checkpointing.mode"] == '"EXACTLY_ONCE"'
    for command in ("kill-taskmanager", "start-taskmanager", "restart-taskmanager"):
        assert flink.parse_args([command, "--state-dir", str(tmp_path)]).command == command


def test_a_restarted_taskmanager_is_ready_once_a_new_one_registered(tmp_path: Path) -> None:
    manager = flink.TaskManager(state_dir=tmp_path, registered_before=frozenset({"old"}))
    manager.registered = lambda: frozenset({"old"})  # type: ignore[method-assign]
    assert manager.probe() is not None  # the killed one, still registered
    manager.registered = lambda: frozenset({"old", "new"})  # type: ignore[method-assign]
    assert manager.probe() is None
