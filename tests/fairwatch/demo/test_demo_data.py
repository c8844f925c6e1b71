"""The vendored UCI Adult files: present, unchanged, attributed, installed as package data."""

from __future__ import annotations

import hashlib
import re
import tomllib
from importlib import resources
from pathlib import Path

from setuptools import find_namespace_packages

from fairwatch.demo import dataset
from tests.paths import ROOT

NOTICE = resources.files("fairwatch.demo").joinpath("data", "NOTICE.md")


def test_the_splits_load_with_the_documented_row_counts() -> None:
    train, test = dataset.load_adult()
    assert len(train) == dataset.TRAIN_ROWS == 32561
    assert len(test) == dataset.TEST_ROWS == 16281
    for frame in (train, test):
        assert set(dataset.COLUMNS) <= set(frame.columns)
        assert set(frame["label"].unique()) == {0, 1}
        assert set(frame["sex"].unique()) == {"Female", "Male"}
        assert set(frame["race"].unique()) == {
            "White",
            "Black",
            "Asian-Pac-Islander",
            "Amer-Indian-Eskimo",
            "Other",
        }
    # adult.names: 23.93% of the rows (train and test together) earn more than 50K.
    positives = train["label"].sum() + test["label"].sum()
    assert abs(positives / (len(train) + len(test)) - 0.2393) < 0.0005


def test_the_vendored_files_are_the_originals_listed_in_the_notice() -> None:
    text = NOTICE.read_text(encoding="utf-8")
    digests = dict(
        (name, digest) for digest, name in re.findall(r"([0-9a-f]{64})  (adult\.\w+)", text)
    )
    assert set(digests) == {"adult.data", "adult.test", "adult.names"}
    for name, digest in digests.items():
        assert hashlib.sha256(dataset.read_raw(name)).hexdigest() == digest, name


def test_the_notice_attributes_the_data() -> None:
    text = NOTICE.read_text(encoding="utf-8")
    for needed in (
        "Becker",
        "Kohavi",
        "1996",
        "CC BY 4.0",
        "10.24432/C5XW20",
        "UCI Machine Learning Repository",
    ):
        assert needed in text


def test_the_data_directory_is_installed_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    include = setuptools["packages"]["find"]["include"]
    packages = find_namespace_packages(where=str(ROOT), include=include)
    assert "fairwatch.demo.data" in packages  # found as a namespace package (no __init__.py)
    patterns = setuptools["package-data"]["*"]
    for name in ("adult.data.gz", "adult.test.gz", "adult.names.gz", "NOTICE.md"):
        assert any(Path(name).match(pattern) for pattern in patterns), name
