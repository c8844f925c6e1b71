"""The container image's Dockerfile and .dockerignore, checked without a Docker engine."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

from tests.deploy.dashboard_queries import ROOT

DOCKERFILE = ROOT / "deploy/docker/Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def _ignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(
        fnmatch.fnmatch(prefix, pattern.removeprefix("**/"))
        or fnmatch.fnmatch(Path(prefix).name, pattern.removeprefix("**/"))
        for pattern in patterns
        for prefix in prefixes
    )


def test_slim_base_and_non_root_runtime() -> None:
    instructions = _instructions()
    bases = [args for word, args in instructions if word == "FROM"]
    assert bases and all("-slim" in base for base in bases)
    runtime = instructions[max(i for i, (w, _) in enumerate(instructions) if w == "FROM") :]
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_healthcheck_probes_healthz_and_state_is_a_volume() -> None:
    instructions = dict(_instructions())
    assert "/healthz" in instructions["HEALTHCHECK"]
    assert "8080" in instructions["HEALTHCHECK"] and "8080" in instructions["EXPOSE"]
    assert "/var/lib/fairwatch" in instructions["VOLUME"]
    assert "FAIRWATCH_STATE_DIR=/var/lib/fairwatch" in instructions["ENV"]
    assert shlex.split(instructions["ENTRYPOINT"].strip("[]").replace(",", " ")) == ["fairwatch"]


def test_copied_sources_exist_and_are_not_ignored() -> None:
    copies = [
        args.split()
        for word, args in _instructions()
        if word == "COPY" and not args.startswith("--from")
    ]
    assert copies
    for *sources, _ in copies:
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not _ignored(source), f"{source} is excluded by .dockerignore"
    for excluded in (".venv", ".git", "tests", "monitor/__pycache__"):
        assert _ignored(excluded), excluded


def test_the_default_config_in_the_image_exists() -> None:
    copies = [args.split() for word, args in _instructions() if word == "COPY"]
    config = next(
        source
        for source, target in ((c[0], c[-1]) for c in copies)
        if target.endswith("fairwatch.yaml")
    )
    assert (ROOT / config).is_file()
    cmd = dict(_instructions())["CMD"]
    assert "/etc/fairwatch/fairwatch.yaml" in cmd
