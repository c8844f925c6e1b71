"""The delayed-label join store (:mod:`monitor.stream.join`) on its own, in the state database.

Each test plays a situation the pipeline meets — duplicates, labels before their prediction,
the label horizon passing, a restart from the checkpoint — and the last one checks a long random
sequence of them against a plain-dict model of what the store must hold.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from monitor.stream.join import PendingStore
from monitor.stream.state import StateStore
from monitor.stream.window import PaneCounts

GROUP_COLUMNS = 2


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    store = StateStore(tmp_path / "state")
    yield store
    store.close()


def checkpoint(state: StateStore) -> None:
    """Commit the open transaction the way the pipeline does (nothing else changed)."""
    state.checkpoint(PaneCounts(1), {}, {}, [], {})


@dataclass
class Prediction:
    prediction_id: str
    ts: float
    model: str = "credit"
    partition: int = 0
    groups: tuple[int, int] = (0, 1)
    prediction: int = 1
    score: float = float("nan")
    label: int = -1
    specs: int = 1


def add(store: PendingStore, predictions: Sequence[Prediction]) -> None:
    """One insert batch, as the pipeline hands it over (columnar)."""
    store.add_predictions(
        [p.prediction_id for p in predictions],
        [p.model for p in predictions],
        np.array([p.ts for p in predictions], dtype=np.float64),
        np.array([p.partition for p in predictions], dtype=np.int32),
        np.array([p.groups for p in predictions], dtype=np.int32).reshape(-1, GROUP_COLUMNS),
        np.array([p.prediction for p in predictions], dtype=np.int8),
        np.array([p.score for p in predictions], dtype=np.float64),
        np.array([p.label for p in predictions], dtype=np.int64),
        np.array([p.specs for p in predictions], dtype=np.int32),
    )


def found(store: PendingStore, ids: Sequence[str]) -> dict[str, dict[str, object]]:
    """What :meth:`PendingStore.lookup` returns, one dict per stored prediction."""
    result = store.lookup(list(ids))
    out: dict[str, dict[str, object]] = {}
    for index, key in enumerate(result.prediction_id):
        record = result.records[index]
        out[key] = {
            "label": int(result.label[index]),
            "model": result.models[index],
            "ts": float(record["ts"]),
            "partition": int(record["partition"]),
            "groups": tuple(int(value) for value in record["groups"]),
            "prediction": int(record["prediction"]),
            "specs": int(record["specs"]),
            "score": float(record["score"]),
        }
    return out


def test_a_stored_prediction_reads_back_field_for_field(state: StateStore) -> None:
    store = PendingStore(state.connection, GROUP_COLUMNS)
    add(
        store,
        [
            Prediction("a", 100.0, "credit", 0, (3, 7), 1, 0.75, -1, 0b01),
            Prediction("b", 101.5, "fraud", 2, (0, 1), 0, float("nan"), 1, 0b11),
        ],
    )
    rows = found(store, ["b", "a", "unknown"])
    assert rows["a"] == {
        "label": -1,
        "model": "credit",
        "ts": 100.0,
        "partition": 0,
        "groups": (3, 7),
        "prediction": 1,
        "specs": 1,
        "score": 0.75,
    }
    assert rows["b"]["model"] == "fraud" and rows["b"]["label"] == 1
    assert rows["b"]["groups"] == (0, 1) and rows["b"]["specs"] == 3
    assert np.isnan(rows["b"]["score"])
    assert rows.keys() == {"a", "b"}
    # one arrived with its label already known (an early label): only "a" waits
    assert (store.stored_predictions, store.waiting_predictions) == (2, 1)


def test_duplicates_are_recognised_across_batches_and_chunks(state: StateStore) -> None:
    store = PendingStore(state.connection, GROUP_COLUMNS)
    assert store.known(["x"]) == set()  # nothing stored yet
    ids = [f"p{i:05d}" for i in range(1300)]  # more ids than one IN (...) query takes
    add(store, [Prediction(key, float(i)) for i, key in enumerate(ids[:700])])
    add(store, [Prediction(key, 700.0 + i) for i, key in enumerate(ids[700:1200])])
    asked = [*ids[::-1], "other", "p00000"]
    assert store.known(asked) == set(ids[:1200])
    assert store.stored_predictions == 1200


def test_labels_before_their_prediction_wait_and_are_taken_once(state: StateStore) -> None:
    store = PendingStore(state.connection, GROUP_COLUMNS)
    assert store.take_early_labels(["a"]) == {}
    assert store.hold_labels([("a", 1), ("b", 0)], arrived=50.0) == 2
    # the same label delivered again (at-least-once) is not held twice; the first one stays
    assert store.hold_labels([("a", 0), ("c", 1)], arrived=60.0) == 1
    assert store.early_labels == 3
    assert store.take_early_labels(["a", "zzz", "c"]) == {"a": 1, "c": 1}
    assert store.take_early_labels(["a", "c"]) == {}  # taken: gone
    assert store.early_labels == 1
    assert store.lookup(["a"]).prediction_id == []  # holding a label stores no prediction


def test_set_labels_joins_and_a_second_label_is_visible_as_a_duplicate(
    state: StateStore,
) -> None:
    store = PendingStore(state.connection, GROUP_COLUMNS)
    add(store, [Prediction("a", 1.0), Prediction("b", 2.0), Prediction("c", 3.0)])
    assert store.waiting_predictions == 3
    store.set_labels([("a", 1), ("c", 0)])
    assert store.waiting_predictions == 1
    rows = found(store, ["a", "b", "c"])
    assert {key: row["label"] for key, row in rows.items()} == {"a": 1, "b": -1, "c": 0}
    # the row stays after its label: a duplicate label finds label != -1 and is not counted again
    assert found(store, ["a"])["a"]["label"] == 1
    assert store.stored_predictions == 3


def test_the_horizon_expires_whole_batches_by_their_latest_event(state: StateStore) -> None:
    store = PendingStore(state.connection, GROUP_COLUMNS)
    add(store, [Prediction("old1", 10.0), Prediction("old2", 20.0)])  # latest 20
    add(store, [Prediction("mixed1", 5.0), Prediction("mixed2", 40.0)])  # latest 40
    add(store, [Prediction("new", 60.0)])
    store.set_labels([("old1", 1)])
    # horizon at 30: only the first batch is wholly older; "mixed1" (5.0) stays with its batch
    assert store.expire(30.0, 0.0, 100.0) == (1, 0)  # one of the two expired was unlabeled
    assert set(found(store, ["old1", "old2", "mixed1", "mixed2", "new"])) == {
        "mixed1",
        "mixed2",
        "new",
    }
    assert (store.stored_predictions, store.waiting_predictions) == (3, 3)
    assert store.known(["old1", "old2"]) == set()  # forgotten: a late duplicate counts as new
    assert store.expire(30.0, 0.0, 100.0) == (0, 0)  # nothing more to do
    assert store.expire(1000.0, 0.0, 100.0) == (3, 0)
    assert (store.stored_predictions, store.waiting_predictions) == (0, 0)


def test_early_labels_become_orphans_after_the_horizon(state: StateStore) -> None:
    store = PendingStore(state.connection, GROUP_COLUMNS)
    store.hold_labels([("a", 1)], arrived=10.0)
    store.hold_labels([("b", 1)], arrived=None)  # before the event-time clock started
    store.hold_labels([("c", 0)], arrived=90.0)
    # the clock (50) stamps "b"; labels held since before 20 are orphans: only "a"
    assert store.expire(0.0, 20.0, 50.0) == (0, 1)
    assert store.early_labels == 2
    assert store.take_early_labels(["a"]) == {}
    # "b" arrived at 50 by the stamp: an orphan once the cut passes 50, "c" once it passes 90
    assert store.expire(0.0, 60.0, 200.0) == (0, 1)
    assert store.take_early_labels(["b", "c"]) == {"c": 0}


def test_a_restart_from_the_checkpoint_restores_predictions_models_and_counts(
    tmp_path: Path,
) -> None:
    state = StateStore(tmp_path / "state")
    store = PendingStore(state.connection, GROUP_COLUMNS)
    add(store, [Prediction("a", 1.0, "credit"), Prediction("b", 2.0, "fraud")])
    store.set_labels([("a", 1)])
    store.hold_labels([("early", 0)], arrived=5.0)
    checkpoint(state)
    add(store, [Prediction("uncommitted", 3.0, "third")])  # after the checkpoint: lost
    state.close()

    state = StateStore(tmp_path / "state")
    try:
        again = PendingStore(state.connection, GROUP_COLUMNS)
        assert (again.stored_predictions, again.waiting_predictions, again.early_labels) == (
            2,
            1,
            1,
        )
        rows = found(again, ["a", "b", "uncommitted"])
        assert {key: (row["model"], row["label"]) for key, row in rows.items()} == {
            "a": ("credit", 1),
            "b": ("fraud", -1),
        }
        # a model first seen after the restart gets a number of its own, not a reused one
        add(again, [Prediction("c", 4.0, "third")])
        assert found(again, ["a", "b", "c"])["c"]["model"] == "third"
        assert found(again, ["b"])["b"]["model"] == "fraud"
        assert again.take_early_labels(["early"]) == {"early": 0}
    finally:
        state.close()


@dataclass
class Model:
    """What the store must hold, kept in plain dicts (batches expire whole)."""

    labels: dict[str, int] = field(default_factory=dict)  # stored prediction -> label
    batches: list[tuple[float, list[str]]] = field(default_factory=list)
    early: dict[str, tuple[int, float | None]] = field(default_factory=dict)


def test_a_random_sequence_of_operations_agrees_with_a_plain_model(state: StateStore) -> None:
    rng = random.Random(13)
    store = PendingStore(state.connection, GROUP_COLUMNS)
    model = Model()
    universe = [f"id{i}" for i in range(400)]
    clock = 0.0
    for _step in range(300):
        action = rng.choice(["add", "add", "label", "hold", "take", "expire"])
        if action == "add":
            ids = rng.sample(universe, rng.randint(1, 12))
            new = [key for key in ids if key not in store.known(ids)]
            assert set(ids) - set(new) == set(ids) & model.labels.keys()
            if new:
                times = [clock + rng.uniform(0, 50) for _ in new]
                add(store, [Prediction(key, ts) for key, ts in zip(new, times, strict=True)])
                model.labels.update(dict.fromkeys(new, -1))
                model.batches.append((max(times), new))
        elif action == "label":
            waiting = [key for key, label in model.labels.items() if label == -1]
            chosen = rng.sample(waiting, min(len(waiting), rng.randint(1, 5)))
            pairs = [(key, rng.randint(0, 1)) for key in chosen]
            store.set_labels(pairs)
            model.labels.update(pairs)
        elif action == "hold":
            ids = rng.sample(universe, 3)
            arrived = None if rng.random() < 0.2 else clock
            pairs = [(key, rng.randint(0, 1)) for key in ids]
            expected_new = sum(1 for key in ids if key not in model.early)
            assert store.hold_labels(pairs, arrived) == expected_new
            for key, label in pairs:
                model.early.setdefault(key, (label, arrived))
        elif action == "take":
            ids = rng.sample(universe, 20)
            expected = {key: model.early.pop(key)[0] for key in ids if key in model.early}
            assert store.take_early_labels(ids) == expected
        else:
            clock += rng.uniform(0, 40)
            cut = clock - 60
            model.early = {
                key: (label, clock if arrived is None else arrived)
                for key, (label, arrived) in model.early.items()
            }
            expired = [ids for latest, ids in model.batches if latest < cut]
            model.batches = [(latest, ids) for latest, ids in model.batches if latest >= cut]
            unlabeled = sum(1 for ids in expired for key in ids if model.labels[key] == -1)
            for ids in expired:
                for key in ids:
                    del model.labels[key]
            orphans = [key for key, (_l, arrived) in model.early.items() if arrived < cut]
            for key in orphans:
                del model.early[key]
            assert store.expire(cut, cut, clock) == (unlabeled, len(orphans))
        assert store.stored_predictions == len(model.labels)
        assert store.waiting_predictions == sum(1 for v in model.labels.values() if v == -1)
        assert store.early_labels == len(model.early)
    assert {key: row["label"] for key, row in found(store, universe).items()} == model.labels
