"""Builders of hand-made engine results for the sink tests (real engine results are used too)."""

from __future__ import annotations

from monitor.engine.results import Disparity, GroupResult, WindowEvaluation


def make_group(
    attribute: str = "sex",
    group: str = "Female",
    n: int = 100,
    tp: int = 20,
    fp: int = 10,
    tn: int = 50,
    fn: int = 10,
) -> GroupResult:
    """A group whose rates follow from its counts (``n`` rows, ``tp+fp+tn+fn`` labeled)."""
    labeled = tp + fp + tn + fn
    predicted_positive = tp + fp + (n - labeled) // 2

    def ratio(numerator: int, denominator: int) -> float | None:
        return numerator / denominator if denominator else None

    rates = {
        "selection_rate": ratio(predicted_positive, n),
        "tpr": ratio(tp, tp + fn),
        "fpr": ratio(fp, fp + tn),
        "fnr": ratio(fn, tp + fn),
        "tnr": ratio(tn, fp + tn),
        "ppv": ratio(tp, tp + fp),
        "npv": ratio(tn, tn + fn),
        "accuracy": ratio(tp + tn, labeled),
        "base_rate": ratio(tp + fn, labeled),
    }
    intervals = {
        name: None if value is None else (max(0.0, value - 0.05), min(1.0, value + 0.05))
        for name, value in rates.items()
    }
    return GroupResult(
        attribute=attribute,
        group=group,
        n=n,
        n_labeled=labeled,
        predicted_positive=predicted_positive,
        tp=tp,
        fp=fp,
        tn=tn,
        fn=fn,
        rates=rates,
        intervals=intervals,
        label_coverage=ratio(labeled, n),
    )


def make_evaluation(
    model_id: str = "credit",
    window: str = "1h",
    window_end: float = 1_700_003_600.0,
    selection_gap: float = 0.1,
) -> WindowEvaluation:
    groups = (
        make_group("sex", "Female", n=120, tp=20, fp=10, tn=50, fn=10),
        make_group("sex", "Male", n=200, tp=40, fp=20, tn=60, fn=20),
        make_group("race", "Black", n=10, tp=0, fp=0, tn=0, fn=0),
    )
    disparities = (
        Disparity(
            "sex",
            "demographic_parity_difference",
            selection_gap,
            selection_gap - 0.05,
            selection_gap + 0.05,
            120,
            "breach" if selection_gap > 0.1 else "ok",
            0.1,
        ),
        Disparity(
            "sex",
            "selection_rate_ratio_to_reference",
            0.85,
            0.7,
            1.0,
            120,
            "ok",
            0.8,
            group="Female",
            reference_group="Male",
        ),
        Disparity("race", "equalized_odds_difference", None, None, None, 10, "not_computable", 0.1),
    )
    return WindowEvaluation(model_id, window, window_end - 3600, window_end, groups, disparities)


def engine_evaluations(
    model_id: str,
    window_ends: list[float],
    window: str = "1h",
    rows: int = 4000,
    bias: float = 0.15,
    seed: int = 7,
) -> list[WindowEvaluation]:
    """Evaluations computed by the real engine from synthetic rows with an injected bias.

    Two attributes (sex: 2 values, race: 4 values) and their intersection; about 80% of the rows
    are labeled; scores are present so ``ece`` is computed; women are selected ``bias`` less often.
    """
    import numpy as np

    from monitor.engine.counts import CountTable, count_batch
    from monitor.engine.evaluate import evaluate

    rng = np.random.default_rng(seed)
    sexes = np.array(["Female", "Male"])
    races = np.array(["Asian", "Black", "Other", "White"])
    size = 3600.0 if window == "1h" else 86400.0
    evaluations = []
    for window_end in window_ends:
        sex = rng.choice(2, size=rows, p=[0.4, 0.6])
        race = rng.choice(4, size=rows, p=[0.1, 0.2, 0.05, 0.65])
        score = np.clip(rng.normal(0.5, 0.2, size=rows) - bias * (sex == 0), 0.0, 1.0)
        prediction = (score >= 0.5).astype(np.int64)
        truth = (rng.random(rows) < score).astype(np.int64)
        label = np.where(rng.random(rows) < 0.8, truth, -1)
        table = CountTable(score_bins=10)
        columns = (
            ("sex", sex, [str(value) for value in sexes]),
            ("race", race, [str(value) for value in races]),
            ("race&sex", race * 2 + sex, [f"{r}&{s}" for r in races for s in sexes]),
        )
        for attribute, codes, names in columns:
            matrix = count_batch(codes, len(names), prediction, label, score, score_bins=10)
            table.add_matrix([(attribute, name) for name in names], matrix)
        evaluations.append(
            evaluate(model_id, window, window_end - size, window_end, table.counts())
        )
    return evaluations
