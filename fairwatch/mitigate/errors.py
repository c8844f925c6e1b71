"""Errors of ``fairwatch mitigate``. Bad input is the audit's :class:`AuditInputError` (exit 2)."""

from __future__ import annotations


class InfeasibleError(Exception):
    """No point of the trade-off curve meets ``--min-accuracy`` (and an explicit
    ``--tolerance``): exit 1. The message is one line naming the best point there is."""
