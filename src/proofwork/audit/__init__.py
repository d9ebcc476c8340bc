"""Auditing a team's repository: history, hotspots, knowledge, tests, monitoring, traffic."""

from proofwork.audit.run import (
    SCHEMA,
    AuditError,
    AuditReport,
    AuditRequest,
    audit,
    parse_window,
)

__all__ = ["SCHEMA", "AuditError", "AuditReport", "AuditRequest", "audit", "parse_window"]
