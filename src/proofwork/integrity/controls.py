"""Controls for the mutation runner, which reports from inside the candidate's process too.

A few "mutants" that change nothing (the original text planted in place of itself) join the
plan, indistinguishable in shape from the others and judged among the first. Tests that pass
on the original code must pass on them: a suite that fails under the runner with nothing
planted (it noticed the runner and fails on purpose, or the results file was rewritten to say
every mutant was caught) would otherwise earn a perfect score.
"""

from __future__ import annotations

from typing import Any

from proofwork.evidence import TAMPERING, Finding, Severity

CONTROLS = 3
EARLY = 16  # controls copy mutants among the first judged, so the deadline never skips them


def add(
    planned: list[dict[str, Any]], texts: dict[str, str], next_id: int
) -> tuple[list[dict[str, Any]], list[int]]:
    """The plan with control copies inserted just before the mutants they copy, and their ids."""
    picks = [i for i, p in enumerate(planned[:EARLY]) if p["kind"] == "function"]
    picks = picks[:: max(1, len(picks) // CONTROLS)][:CONTROLS]
    plan: list[dict[str, Any]] = []
    ids: list[int] = []
    for index, entry in enumerate(planned):
        text = texts.get(entry["path"])
        if index in picks and text is not None:
            original = text[entry["start"] : entry["end"]]
            plan.append({**entry, "id": next_id, "replacement": original})
            ids.append(next_id)
            next_id += 1
        plan.append(entry)
    return plan, ids


def judge(ids: list[int], results: dict[str, Any]) -> list[Finding]:
    """Tampering when every judged control was "caught"; a note when some were."""
    # A control that timed out or errored (a busy host) says nothing either way.
    statuses = [
        status
        for i in ids
        if isinstance(results.get(str(i)), dict)
        and (status := str(results[str(i)].get("status"))) in ("killed", "survived")
    ]
    killed = statuses.count("killed")
    if not killed:
        return []
    if killed == len(statuses) and killed >= 2:
        message = (
            f"All {killed} control mutants, which change nothing, were reported caught: the "
            "suite fails under the mutation runner with no bug planted, or its results were "
            "rewritten. The mutation score is untrusted."
        )
        return [Finding(TAMPERING, Severity.CRITICAL, message, probe="mutation")]
    message = (
        f"{killed} of {len(statuses)} control mutants, which change nothing, were reported "
        "caught: some tests fail when run on their own under the mutation runner, so the "
        "score may overstate how many planted bugs the tests notice."
    )
    return [Finding("integrity.suspicious", Severity.HIGH, message, probe="mutation")]
