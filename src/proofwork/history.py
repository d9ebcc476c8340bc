"""How the work was done: a git submission's commits against the pack's time box, and the
candidate's change against the starter.

Read at intake, before any of the candidate's code runs (it could rewrite `.git` in the
sandbox), with git held to safe settings (`proofwork.audit.git`: no hooks, filters, external
diff or pagers the repository could name). What it shows is information for a conversation,
not a verdict: one squashed commit, or work spread far beyond the time box, has honest reasons.
"""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proofwork.analysis import sources
from proofwork.audit.git import Git, GitError
from proofwork.evidence import Evidence, Finding, Severity

KIT_EMAIL = "kit@proofwork.invalid"  # the identity of the kit's initial commit
COMMITS_MAX = 500
SPAN_FACTOR = 3  # work spread over more than this many time boxes is worth a question
DIFF_MAX = 200 * 1024
FILE_MAX = 256 * 1024
TEXT_SUFFIXES = frozenset({".py", ".md", ".toml", ".txt", ".cfg", ".ini", ".yaml", ".yml", ".json"})
RECORD, FIELD = "\x1e", "\x1f"


@dataclass(frozen=True)
class Commit:
    sha: str
    authored: int  # unix seconds
    author: str
    subject: str
    files: int
    added: int
    removed: int
    kit: bool  # the kit's own initial commit

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "sha": self.sha,
            "authored": self.authored,
            "author": self.author,
            "subject": self.subject,
            "files": self.files,
            "added": self.added,
            "removed": self.removed,
            "kit": self.kit,
        }


def commits(workspace: Path) -> list[Commit]:
    """The submission's commits, oldest first (none when it is not a git repository)."""
    if not (workspace / ".git").is_dir():
        return []
    with tempfile.TemporaryDirectory(prefix="proofwork-git-") as home:
        git = Git(workspace, Path(home))
        try:
            raw = git.run(
                [
                    "log",
                    f"-n{COMMITS_MAX}",
                    "--no-color",
                    "--no-ext-diff",
                    "--no-textconv",
                    "--shortstat",
                    f"--format={RECORD}%H{FIELD}%at{FIELD}%ae{FIELD}%an{FIELD}%s",
                    "HEAD",
                ]
            )
        except GitError:
            return []
    return sorted(_parse(raw.decode("utf-8", errors="replace")), key=lambda c: c.authored)


def _parse(text: str) -> list[Commit]:
    found = []
    for record in text.split(RECORD)[1:]:
        head, _, stat = record.partition("\n")
        parts = head.split(FIELD)
        if len(parts) != 5 or not parts[1].isdigit():
            continue
        sha, authored, email, name, subject = parts
        files, added, removed = _shortstat(stat)
        found.append(
            Commit(
                sha,
                int(authored),
                name[:80],
                subject[:200],
                files,
                added,
                removed,
                email == KIT_EMAIL,
            )
        )
    return found


def _shortstat(text: str) -> tuple[int, int, int]:
    files = added = removed = 0
    for part in text.strip().split(","):
        words = part.split()
        if len(words) >= 2 and words[0].isdigit():
            number = int(words[0])
            if words[1].startswith("file"):
                files = number
            elif words[1].startswith("insertion"):
                added = number
            elif words[1].startswith("deletion"):
                removed = number
    return files, added, removed


def starter_diff(
    starter: Path, workspace: Path, given: Mapping[str, bytes] | None = None
) -> tuple[str, dict[str, int]]:
    """The candidate's change against the starter (with `given`, the files the kit puts beside
    it, by path), as a unified diff of text files (bounded), and how many files were added,
    changed and removed."""
    before, after = _texts(starter), _texts(workspace)
    for path, raw in (given or {}).items():
        if Path(path).suffix in TEXT_SUFFIXES and len(raw) <= FILE_MAX:
            before[path] = sources.decode(raw)
    counts = {"added": 0, "changed": 0, "removed": 0}
    chunks: list[str] = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        counts["added" if old is None else "removed" if new is None else "changed"] += 1
        chunks.extend(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                fromfile=f"starter/{path}" if old is not None else "/dev/null",
                tofile=f"submission/{path}" if new is not None else "/dev/null",
            )
        )
    diff = "".join(line if line.endswith("\n") else line + "\n" for line in chunks)
    if len(diff) > DIFF_MAX:
        diff = diff[:DIFF_MAX] + f"\n… [{len(diff) - DIFF_MAX} more characters of diff cut]\n"
    return diff, counts


def _texts(root: Path) -> dict[str, str]:
    found = {}
    for relative in sources.iter_files(root):
        if relative.suffix not in TEXT_SUFFIXES:
            continue
        raw = sources.read_bytes(root / relative, FILE_MAX)
        if raw is not None and len(raw) <= FILE_MAX:
            found[str(relative)] = sources.decode(raw)
    return found


def read(
    workspace: Path,
    time_box_minutes: int | None = None,
    starter: Path | None = None,
    given: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    """The report's `history` section: commits, what they say against the time box, and the
    change against the starter. Empty when there is neither a git history nor a starter."""
    found = commits(workspace)
    section: dict[str, Any] = {}
    if found:
        section.update(_timeline(found, time_box_minutes))
    if starter is not None and starter.is_dir():
        diff, counts = starter_diff(starter, workspace, given)
        section["starter_diff"] = {**counts, "diff": diff}
    return section


def _timeline(found: list[Commit], time_box_minutes: int | None) -> dict[str, Any]:
    own = [c for c in found if not c.kit]
    span = (own[-1].authored - own[0].authored) / 60 if len(own) > 1 else 0.0
    return {
        "commits": [c.to_json() for c in found],
        "candidate_commits": len(own),
        "span_minutes": round(span, 1),
        "time_box_minutes": time_box_minutes,
        "squashed": len(own) == 1,
        "beyond_time_box": bool(time_box_minutes and span > SPAN_FACTOR * time_box_minutes),
    }


def findings(section: dict[str, Any]) -> list[Finding]:
    """What a reviewer may want to ask about (information, never a verdict)."""
    found = []
    if section.get("squashed"):
        found.append(
            Finding(
                "history.squashed",
                Severity.INFO,
                "All the work is in one commit: the history cannot show how it was done "
                "(ask how they worked; squashing before sending is common).",
                probe="history",
            )
        )
    if section.get("beyond_time_box"):
        hours = section["span_minutes"] / 60
        box = section["time_box_minutes"] / 60
        found.append(
            Finding(
                "history.span",
                Severity.INFO,
                f"The commits span {hours:.1f} hours against a time box of {box:g} hours "
                "(information for a conversation, not a verdict).",
                probe="history",
            )
        )
    return found


def evidence(section: dict[str, Any]) -> Evidence:
    """The history as a probe's evidence: headline figures and findings."""
    found = Evidence("history", findings=findings(section))
    if "commits" in section:
        found.metrics.update(
            {
                "history.commits": section["candidate_commits"],
                "history.span_minutes": section["span_minutes"],
                "history.squashed": section["squashed"],
            }
        )
    if "starter_diff" in section:
        changes = section["starter_diff"]
        found.metrics["history.files_changed"] = sum(
            changes[k] for k in ("added", "changed", "removed")
        )
    return found
