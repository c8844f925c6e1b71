"""Real public data sets from the repository (sources and licences: tests/data/NOTICE.md).

UCI Adult is the copy the product ships for its demo (:mod:`fairwatch.demo.dataset`); COMPAS and
German credit are vendored in ``tests/data``. Nothing is read from outside the repository.
"""

from __future__ import annotations

import gzip

import pandas as pd

from fairwatch.demo.dataset import load_split
from tests.paths import DATA

COMPAS = DATA / "compas-scores-two-years.csv.gz"
GERMAN = DATA / "german.data.gz"

# Statlog German credit: the 20 attributes and the class, in the file's order.
GERMAN_COLUMNS: tuple[str, ...] = (
    "checking_status",
    "duration_months",
    "credit_history",
    "purpose",
    "credit_amount",
    "savings",
    "employment_since",
    "installment_rate",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
    "credit_risk",
)
GERMAN_NUMERIC: tuple[str, ...] = (
    "duration_months",
    "credit_amount",
    "installment_rate",
    "residence_since",
    "age",
    "existing_credits",
    "people_liable",
)
_GERMAN_SEX = {"A91": "male", "A92": "female", "A93": "male", "A94": "male", "A95": "female"}


def adult(split: str) -> pd.DataFrame:
    """UCI Adult, ``train`` or ``test``: the columns of :data:`fairwatch.demo.dataset.COLUMNS`
    and ``label`` (1: income above 50K)."""
    return load_split(split)


def compas() -> pd.DataFrame:
    """ProPublica's COMPAS two-year data, all 7,214 rows (columns: tests/data/NOTICE.md)."""
    return pd.read_csv(COMPAS)


def compas_audit_rows() -> pd.DataFrame:
    """COMPAS as rows for ``fairwatch audit``: ``prediction`` = decile score 5 or more (ProPublica's
    "medium or high risk"), ``label`` = reoffended within two years, ``sex`` and ``race``."""
    frame = compas()
    return pd.DataFrame(
        {
            "sex": frame["sex"],
            "race": frame["race"],
            "prediction": (frame["decile_score"] >= 5).astype(int),
            "label": frame["two_year_recid"].astype(int),
        }
    )


def german() -> pd.DataFrame:
    """Statlog German credit: :data:`GERMAN_COLUMNS` plus ``sex`` (from the personal status),
    ``age_group`` (``25 or younger`` / ``over 25``) and ``label`` (1: good credit risk)."""
    with gzip.open(GERMAN, "rt", encoding="ascii") as text:
        frame = pd.read_csv(text, sep=" ", header=None, names=list(GERMAN_COLUMNS))
    frame["sex"] = frame["personal_status_sex"].map(_GERMAN_SEX)
    frame["age_group"] = frame["age"].map(lambda age: "25 or younger" if age <= 25 else "over 25")
    frame["label"] = (frame["credit_risk"] == 1).astype(int)
    return frame
