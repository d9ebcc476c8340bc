"""The report's history section, ready for the page: relative times, sizes as bars, the diff."""

from __future__ import annotations

from typing import Any

from proofwork.evidence import Report


def _duration(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min"


def history_view(report: Report, diff_lines: Any) -> dict[str, Any] | None:
    """None when the report has no history; `diff_lines` classifies a diff's lines."""
    return section_view(report.history, diff_lines)


def section_view(history: dict[str, Any], diff_lines: Any) -> dict[str, Any] | None:
    """The view of a report's `history` section (the blind review page shows one redacted)."""
    if not history:
        return None
    commits = history.get("commits") or []
    own = [c for c in commits if not c.get("kit")]
    start = own[0]["authored"] if own else 0
    # The kit's commit holds the whole starter: the scale is the candidate's own commits.
    largest = max((c["added"] + c["removed"] for c in own), default=0) or 1
    view_commits = [
        {
            **c,
            "when": "starter" if c.get("kit") else f"+{_duration((c['authored'] - start) / 60)}",
            "width": min(100, max(1, round(100 * (c["added"] + c["removed"]) / largest))),
        }
        for c in commits
    ]
    box = history.get("time_box_minutes")
    changes = history.get("starter_diff")
    return {
        "commits": view_commits,
        "candidate_commits": history.get("candidate_commits", 0),
        "span": _duration(float(history.get("span_minutes") or 0)),
        "time_box": _duration(box) if box else None,
        "squashed": history.get("squashed", False),
        "beyond": history.get("beyond_time_box", False),
        "diff": diff_lines(changes["diff"]) if changes else None,
        "diff_counts": (
            f"{changes['added']} files added, {changes['changed']} changed, "
            f"{changes['removed']} removed"
            if changes
            else ""
        ),
    }
