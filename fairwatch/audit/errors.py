"""Errors of ``fairwatch audit``: bad input is reported in one line and exits with code 2."""

from __future__ import annotations


class AuditInputError(ValueError):
    """The input file cannot be audited (unknown format, empty, missing or malformed columns).

    The message is one line naming the problem and, where it helps, what is expected instead.
    """


class RuleError(ValueError):
    """A ``--fail-on`` rule does not name a known disparity metric or has a malformed threshold."""
