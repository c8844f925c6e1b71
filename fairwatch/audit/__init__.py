"""Offline audits of decision files with the streaming engine (``fairwatch audit``)."""

from __future__ import annotations

from fairwatch.audit.core import AuditOptions, AuditReport, audit_rows, run_audit
from fairwatch.audit.errors import AuditInputError, RuleError

__all__ = [
    "AuditInputError",
    "AuditOptions",
    "AuditReport",
    "RuleError",
    "audit_rows",
    "run_audit",
]
