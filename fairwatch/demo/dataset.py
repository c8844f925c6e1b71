"""The UCI Adult data set vendored with fairwatch (see ``data/NOTICE.md`` for its attribution).

Becker, B. and Kohavi, R. (1996), Adult, UCI Machine Learning Repository, CC BY 4.0,
https://doi.org/10.24432/C5XW20. The files are gzip-compressed copies of the originals.
"""

from __future__ import annotations

import gzip
import io
from importlib import resources

import pandas as pd

COLUMNS: tuple[str, ...] = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
)
NUMERIC_COLUMNS: tuple[str, ...] = (
    "age",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
)
CATEGORICAL_COLUMNS: tuple[str, ...] = (
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "native_country",
)
SENSITIVE_COLUMNS: tuple[str, ...] = ("sex", "race")

# Row counts stated in adult.names (train=32561, test=16281).
TRAIN_ROWS = 32561
TEST_ROWS = 16281

_FILES = {"train": "adult.data.gz", "test": "adult.test.gz"}


def read_raw(name: str) -> bytes:
    """The uncompressed bytes of a vendored file (e.g. ``adult.data``)."""
    resource = resources.files("fairwatch.demo").joinpath("data", f"{name}.gz")
    return gzip.decompress(resource.read_bytes())


def load_split(split: str) -> pd.DataFrame:
    """One split (``train`` or ``test``) as a frame with :data:`COLUMNS` and a 0/1 ``label``.

    Values are stripped of the surrounding spaces of the original files, unknown values (``?``)
    are kept as the category ``?``, and the label is 1 for an income above 50K (the test file
    writes it with a trailing period, ``>50K.``).
    """
    if split not in _FILES:
        raise ValueError(f"unknown split {split!r}: expected 'train' or 'test'")
    text = read_raw(_FILES[split].removesuffix(".gz")).decode("ascii")
    frame = pd.read_csv(
        io.StringIO(text),
        header=None,
        names=list(COLUMNS),
        skipinitialspace=True,
        comment="|",  # the test file starts with a "|1x3 Cross validator" line
        skip_blank_lines=True,
    )
    income = frame["income"].str.rstrip(".")
    frame["label"] = (income == ">50K").astype("int8")
    return frame


def load_adult() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The train and test splits, in the files' order."""
    return load_split("train"), load_split("test")
