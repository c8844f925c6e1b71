"""``fairwatch audit`` wall time on the full UCI Adult test split (16,281 rows).

Target: under 2 s wall, process start included. A logistic regression trained on the Adult
training split scores the test split; the rows (prediction, score, label, sex, race) are written
as JSONL (sensitive attributes in a ``sensitive`` object), CSV and Parquet, and each file is
audited by the ``fairwatch`` console entry in a fresh process, by sex, race and race × sex.
``fairwatch version`` is timed too: the floor that interpreter start and imports set.
Run: ``python bench/bench_audit.py [--data DIR]`` (default: the Adult copy the demo ships).

UCI Adult: Becker & Kohavi (1996), UCI Machine Learning Repository, CC BY 4.0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
]  # fmt: skip
NUMERIC = ["age", "education-num", "capital-gain", "capital-loss", "hours-per-week"]


VENDORED = Path(__file__).resolve().parents[1] / "fairwatch" / "demo" / "data"


def adult_file(data: Path, name: str) -> Path:
    """``name`` in ``data``: gzipped as the demo ships it, plain, or in an ``adult/`` folder."""
    for path in (data / f"{name}.gz", data / name, data / "adult" / name):
        if path.exists():
            return path
    raise SystemExit(f"bench_audit: no {name} in {data}")


def read_adult(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(
        path, header=None, names=COLUMNS, skipinitialspace=True, comment="|", na_values="?"
    )
    frame["label"] = frame["income"].str.rstrip(".").eq(">50K").astype(int)
    return frame


def scored_test_split(data: Path) -> pd.DataFrame:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train = read_adult(adult_file(data, "adult.data"))
    test = read_adult(adult_file(data, "adult.test"))
    scaler = StandardScaler().fit(train[NUMERIC])
    model = LogisticRegression(max_iter=500).fit(scaler.transform(train[NUMERIC]), train["label"])
    score = model.predict_proba(scaler.transform(test[NUMERIC]))[:, 1]
    return pd.DataFrame(
        {
            "score": score.round(6),
            "prediction": (score >= 0.5).astype(int),
            "label": test["label"],
            "sex": test["sex"],
            "race": test["race"],
        }
    )


def write_inputs(rows: pd.DataFrame, folder: Path) -> dict[str, Path]:
    paths = {
        "jsonl": folder / "adult_test.jsonl",
        "csv": folder / "adult_test.csv",
        "parquet": folder / "adult_test.parquet",
    }
    events = rows[["score", "prediction", "label"]].copy()
    events["sensitive"] = rows[["sex", "race"]].to_dict("records")
    events.to_json(paths["jsonl"], orient="records", lines=True)
    rows.to_csv(paths["csv"], index=False)
    rows.to_parquet(paths["parquet"])
    return paths


def wall(argv: list[str], repeat: int) -> tuple[float, int]:
    """Best wall seconds of ``repeat`` runs, and the exit code."""
    best, code = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
        code = result.returncode
    return best, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=VENDORED)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fairwatch = [sys.executable, "-m", "fairwatch.cli"]
    with tempfile.TemporaryDirectory() as folder:
        rows = scored_test_split(args.data)
        paths = write_inputs(rows, Path(folder))
        print(f"Adult test split: {len(rows):,} rows; load average {os.getloadavg()[0]:.1f}")
        floor, _code = wall([*fairwatch, "version"], args.repeat)
        print(f"fairwatch version (start-up floor): {floor:5.2f} s")
        common = ["--sensitive", "sex,race", "--intersect", "sex,race"]
        for name, path in paths.items():
            for output in ("json", "table"):
                seconds, code = wall(
                    [*fairwatch, "audit", str(path), *common, "--format", output], args.repeat
                )
                verdict = "meets target" if seconds < 2.0 else "MISSES target"
                print(
                    f"audit {name:8s} --format {output:5s}: {seconds:5.2f} s wall (exit {code}); "
                    f"target < 2 s: {verdict}"
                )
        html = Path(folder) / "report.html"
        seconds, code = wall(
            [*fairwatch, "audit", str(paths["parquet"]), *common, "--format", "html", "-o",
             str(html)],
            args.repeat,
        )  # fmt: skip
        print(f"audit parquet  --format html : {seconds:5.2f} s wall (matplotlib plots; no target)")


if __name__ == "__main__":
    main()
