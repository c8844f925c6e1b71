"""Offline audits of decision files with the streaming engine (``fairwatch audit``)."""

from __future__ import annotations

from monitor.audit.core import AuditOptions, AuditReport, audit_rows, run_audit
from monitor.audit.errors import AuditInputError, RuleError

__all__ = [
    "AuditInputError",
    "AuditOptions",
    "AuditReport",
    "RuleError",
    "audit_rows",
    "run_audit",
]
