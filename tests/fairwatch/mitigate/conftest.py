"""Files of scores for ``fairwatch mitigate``: UCI Adult (vendored) and COMPAS, and how to run it.

Adult: the demo's logistic regression (``fairwatch.demo.model``), fitted once per session on the
training split; the file holds the test split's scores. Written as Parquet so that the scores
are the model's floats bit for bit (a threshold is one of them).

COMPAS: ProPublica's two-year data (``compas-scores-two-years.csv``, 7,214 rows), score =
decile_score / 10, label = two_year_recid, from the trimmed copy in ``tests/data``
(``tests.datasets.compas``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fairwatch.cli import main
from tests.datasets import compas


@pytest.fixture(scope="session")
def adult_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fairwatch.demo.dataset import load_adult
    from fairwatch.demo.model import train

    train_frame, test_frame = load_adult()
    model = train(train_frame)
    rows = test_frame[["sex", "race", "label"]].assign(score=model.scores(test_frame))
    path = tmp_path_factory.mktemp("adult") / "adult-scores.parquet"
    rows.to_parquet(path, index=False)
    return path


@pytest.fixture(scope="session")
def compas_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = compas()
    rows = pd.DataFrame(
        {
            "sex": source["sex"],
            "race": source["race"],
            "score": source["decile_score"] / 10,
            "label": source["two_year_recid"],
        }
    )
    path = tmp_path_factory.mktemp("compas") / "compas-scores.csv"
    rows.to_csv(path, index=False)
    return path


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """``run(*argv)`` → ``(exit code, stdout, stderr)`` of ``fairwatch mitigate *argv``."""

    def call(*argv: object) -> tuple[int, str, str]:
        code = main(["mitigate", *map(str, argv)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


@pytest.fixture
def mitigate_json(run: Run) -> Callable[..., dict[str, Any]]:
    """``mitigate_json(path, *options)`` → the JSON report (exit code 0 asserted)."""

    def call(path: Path, *options: object) -> dict[str, Any]:
        code, out, err = run(path, "--format", "json", *options)
        assert code == 0, err
        report: dict[str, Any] = json.loads(out)
        return report

    return call
