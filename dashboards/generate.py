"""Generate fairwatch's Grafana dashboards (``dashboards/json/*.json``) from their modules.

    python dashboards/generate.py          # rewrite the JSON files
    python dashboards/generate.py --check  # exit 1 when a JSON file differs from what is generated

Every query is Flux for the provisioned InfluxDB datasource (uid ``fairwatch-influxdb``). Queries
use only Flux functions that InfluxDB 1.8 (Flux 0.65) already has and that InfluxDB 2.x keeps, and
Grafana's macros ``v.defaultBucket``, ``v.timeRangeStart``, ``v.timeRangeStop``,
``v.windowPeriod``. Multi-value variables are matched with ``=~ /^${var:regex}$/``, single-value
ones with ``== "${var}"``. The schema they read is in ``docs/influxdb-schema.md``.

Names are imported, not re-typed: the measurements, fields and tags from
``monitor/sinks/points.py``, the rates and disparity names from the engine, the counters from their
declarations (``monitor/stream/counters.py``, ``monitor/sinks/counters.py``,
``alerting/metrics.py``). Every field, tag and column a query names is checked against them when
the dashboards are generated (``dashboards/names.py``), so a renamed field fails here, not in
Grafana. One module per dashboard: ``fleet``, ``model``, ``heatmap``, ``pipeline``; their building
blocks in ``blocks``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: import the fairwatch packages of this checkout
    sys.path.insert(0, str(ROOT))

from dashboards.fleet import fleet_overview  # noqa: E402
from dashboards.heatmap import disparity_heatmap  # noqa: E402
from dashboards.model import model_detail  # noqa: E402
from dashboards.names import check_query  # noqa: E402
from dashboards.pipeline import pipeline_health  # noqa: E402

OUT = ROOT / "dashboards" / "json"

DASHBOARDS = {
    "fleet-overview.json": fleet_overview,
    "model-detail.json": model_detail,
    "disparity-heatmap.json": disparity_heatmap,
    "pipeline-health.json": pipeline_health,
}


def queries(board: dict[str, Any]) -> list[str]:
    """Every Flux query of a dashboard: panels (rows included), variables, annotations."""
    found = [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    found += [a["query"] for a in board["annotations"]["list"] if "query" in a]
    stack = list(board["panels"])
    while stack:
        item = stack.pop()
        stack.extend(item.get("panels", []))
        found += [target["query"] for target in item.get("targets", [])]
    return found


def render() -> dict[str, str]:
    """The JSON text of every dashboard, every query checked first (:func:`check_query`)."""
    boards = {name: build() for name, build in DASHBOARDS.items()}
    for board in boards.values():
        for query in queries(board):
            check_query(query)
    return {name: json.dumps(board, indent=2) + "\n" for name, board in boards.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in render().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
            continue
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if stale:
        print(
            f"out of date (run python dashboards/generate.py): {', '.join(stale)}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
