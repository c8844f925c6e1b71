"""Group naming and vectorized group columns shared by ``fairwatch audit`` and the daemon.

An attribute (``sex``) or an intersection of attributes (``race&sex``, names sorted) splits rows
into groups. An intersection's group is named by joining each attribute's value in the same sorted
attribute order (``Black&Female`` for race=Black, sex=Female).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

SEPARATOR = "&"
MISSING = "(missing)"


def intersection_name(attributes: Iterable[str]) -> str:
    """Stable name of an attribute combination: names sorted, joined by ``&``."""
    names = sorted(set(attributes))
    if not names:
        raise ValueError("an intersection needs at least one attribute")
    return SEPARATOR.join(names)


def intersection_group_name(values: Mapping[str, object]) -> str:
    """Name of one intersectional group from ``{attribute: value}``, in sorted attribute order."""
    return SEPARATOR.join(value_name(values[name]) for name in sorted(values))


def value_name(value: object) -> str:
    """A group value as a string; missing values (None, NaN, empty) become ``(missing)``."""
    if value is None:
        return MISSING
    if isinstance(value, float) and value != value:
        return MISSING
    text = str(value)
    return text if text else MISSING


_SMALL = 200_000  # below this many rows a dict beats importing and calling pandas


def encode_column(values: np.ndarray | Sequence[object]) -> tuple[np.ndarray, list[str]]:
    """Factorize one column into int64 codes and the group name of each code.

    Missing values get the group ``(missing)``; values that print the same share a group.
    Large columns use pandas' hash factorization (imported on first use: the audit command
    does without it).
    """
    if len(values) < _SMALL and set(map(type, values)) == {str}:
        # the daemon's case (decoded events): hash the strings themselves
        position = dict.fromkeys(values, 0)
        for code, value in enumerate(position):
            position[value] = code
        codes = np.fromiter(map(position.__getitem__, values), dtype=np.int64, count=len(values))
        return _merge_equal_names(codes, [value_name(value) for value in position])
    if len(values) < _SMALL:
        index: dict[str, int] = {}
        codes = np.fromiter(
            (index.setdefault(value_name(value), len(index)) for value in values),
            dtype=np.int64,
            count=len(values),
        )
        return codes, list(index)
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    names = [value_name(value) for value in uniques]
    codes = codes.astype(np.int64)
    if (codes < 0).any():
        missing_code = len(names)
        if MISSING in names:
            missing_code = names.index(MISSING)
        else:
            names.append(MISSING)
        codes[codes < 0] = missing_code
    return _merge_equal_names(codes, names)


def _merge_equal_names(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Values that differ but print the same (1 and "1") share one group."""
    if len(set(names)) == len(names):
        return codes, names
    unique_names: list[str] = []
    position: dict[str, int] = {}
    remap = np.empty(len(names), dtype=np.int64)
    for index, name in enumerate(names):
        if name not in position:
            position[name] = len(unique_names)
            unique_names.append(name)
        remap[index] = position[name]
    return remap[codes], unique_names


def encode_intersection(
    columns: Sequence[tuple[np.ndarray, list[str]]],
) -> tuple[np.ndarray, list[str]]:
    """Combine encoded columns (given in sorted attribute order) into one intersection encoding.

    Only observed combinations become groups; names are the members' names joined by ``&``.
    """
    if not columns:
        raise ValueError("an intersection needs at least one attribute")
    combined = np.zeros(columns[0][0].shape[0], dtype=np.int64)
    for codes, names in columns:
        combined = combined * len(names) + codes
    observed, inverse = np.unique(combined, return_inverse=True)
    members = []
    remainder = observed.copy()
    for _codes, names in reversed(columns):
        members.append(remainder % len(names))
        remainder //= len(names)
    members.reverse()
    group_names = [
        SEPARATOR.join(
            names[int(member[position])]
            for (_c, names), member in zip(columns, members, strict=True)
        )
        for position in range(observed.shape[0])
    ]
    return inverse.astype(np.int64).reshape(-1), group_names


def group_codes(
    sensitive: Mapping[str, np.ndarray | Sequence[object]],
    attributes: Sequence[str],
    intersections: Sequence[Sequence[str]] = (),
) -> list[tuple[str, np.ndarray, list[str]]]:
    """For each attribute, then each intersection: ``(name, per-row codes, group names)``."""
    encoded: dict[str, tuple[np.ndarray, list[str]]] = {}

    def encode(attribute: str) -> tuple[np.ndarray, list[str]]:
        if attribute not in encoded:
            if attribute not in sensitive:
                raise KeyError(f"sensitive attribute {attribute!r} is not in the data")
            column = sensitive[attribute]
            encoded[attribute] = encode_column(
                column if isinstance(column, list) else np.asarray(column, dtype=object)
            )
        return encoded[attribute]

    result: list[tuple[str, np.ndarray, list[str]]] = []
    seen: set[str] = set()
    for attribute in attributes:
        if attribute in seen:
            continue
        seen.add(attribute)
        codes, names = encode(attribute)
        result.append((attribute, codes, names))
    for members in intersections:
        name = intersection_name(members)
        if name in seen:
            continue
        seen.add(name)
        ordered = sorted(set(members))
        if len(ordered) == 1:
            codes, names = encode(ordered[0])
        else:
            codes, names = encode_intersection([encode(member) for member in ordered])
        result.append((name, codes, names))
    return result


def group_columns(
    sensitive: Mapping[str, np.ndarray | Sequence[object]],
    attributes: Sequence[str],
    intersections: Sequence[Sequence[str]] = (),
) -> list[tuple[str, np.ndarray]]:
    """For each attribute, then each intersection: its name and each row's group name."""
    return [
        (name, np.asarray(names, dtype=object)[codes])
        for name, codes, names in group_codes(sensitive, attributes, intersections)
    ]


def cap_groups(sizes: Mapping[str, int], max_groups: int | None) -> tuple[list[str], int]:
    """Keep the ``max_groups`` largest groups (ties broken by name); return them and how many
    were dropped. ``None`` keeps every group."""
    ordered = sorted(sizes, key=lambda name: (-sizes[name], name))
    if max_groups is None or len(ordered) <= max_groups:
        return ordered, 0
    return ordered[:max_groups], len(ordered) - max_groups
