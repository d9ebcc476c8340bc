"""Findings as a SARIF 2.1.0 log, so code hosts can show them beside the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from proofwork.evidence import Finding, Severity
from proofwork.reports.json_report import write_atomic

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def sarif_log(findings: list[Finding], *, version: str) -> dict[str, Any]:
    """One run of the `proofwork` driver with a result per finding that has a place."""
    placed = [f for f in findings if f.path]
    rules = sorted({f.rule for f in placed})
    index = {rule: number for number, rule in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "proofwork",
                        "version": version,
                        "rules": [_rule(rule, placed) for rule in rules],
                    }
                },
                "originalUriBaseIds": {
                    "SRCROOT": {"description": {"text": "The root of the audited repository."}}
                },
                "results": [_result(f, index[f.rule]) for f in placed],
            }
        ],
    }


def write_sarif(findings: list[Finding], path: Path, *, version: str) -> None:
    """Write the SARIF log to `path` atomically."""
    text = json.dumps(sarif_log(findings, version=version), indent=2, ensure_ascii=False)
    write_atomic(path, text + "\n")


def _rule(rule: str, findings: list[Finding]) -> dict[str, Any]:
    example = next(f for f in findings if f.rule == rule)
    return {
        "id": rule,
        "name": rule.replace(".", "_"),
        "shortDescription": {"text": rule},
        "defaultConfiguration": {"level": LEVELS[example.severity]},
    }


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    region: dict[str, int] = {}
    if finding.line:
        region["startLine"] = finding.line
        if finding.column:
            region["startColumn"] = finding.column
    location: dict[str, Any] = {
        "artifactLocation": {"uri": _uri(finding.path or ""), "uriBaseId": "SRCROOT"}
    }
    if region:
        location["region"] = region
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": location}],
    }


def _uri(path: str) -> str:
    """A relative URI reference for a repository path (odd bytes percent-encoded)."""
    raw = path.encode("utf-8", errors="surrogateescape")
    return quote(raw, safe="/")
