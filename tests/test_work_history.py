"""How the work was done: commits against the time box, the change against the starter, and git
kept from running anything the submission's repository names."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from rich.console import Console

from proofwork import history
from proofwork.challenges import discover
from proofwork.challenges.kit import build_kit
from proofwork.config import Settings
from proofwork.engine import history_of
from proofwork.evidence import Evidence, Report, SubmissionInfo
from proofwork.reports.html import render_html
from proofwork.reports.terminal import render_summary


def commit(repo: Path, when: str, files: dict[str, str], email: str = "c@example.org") -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    env = {
        "PATH": os.environ["PATH"], "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Cand", "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_NAME": "Cand", "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": when,
    }  # fmt: skip
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", when]):
        subprocess.run(argv, cwd=repo, env=env, check=True, capture_output=True)


def test_commits_over_time_against_the_time_box(tmp_path: Path) -> None:
    commit(tmp_path, "2026-01-01T00:00:00Z", {"app.py": "x = 1\n"}, email=history.KIT_EMAIL)
    commit(tmp_path, "2026-03-02T09:00:00Z", {"app.py": "x = 2\ny = 3\n"})
    commit(tmp_path, "2026-03-02T10:15:00Z", {"b.py": "z = 1\n"})
    section = history.read(tmp_path, time_box_minutes=180)
    assert [c["kit"] for c in section["commits"]] == [True, False, False]
    assert [(c["added"], c["removed"]) for c in section["commits"]][1:] == [(2, 1), (1, 0)]
    assert (section["candidate_commits"], section["span_minutes"]) == (2, 75.0)
    assert not section["squashed"] and not section["beyond_time_box"]
    assert history.findings(section) == []


def test_one_squashed_commit_and_a_long_span_are_noted_not_judged(tmp_path: Path) -> None:
    commit(tmp_path, "2026-03-02T09:00:00Z", {"app.py": "x = 1\n"})
    assert history.read(tmp_path, 180)["squashed"]
    commit(tmp_path, "2026-03-05T09:00:00Z", {"app.py": "x = 2\n"})
    section = history.read(tmp_path, 180)
    assert section["beyond_time_box"]
    rules = [(f.rule, f.severity.value) for f in history.findings(section)]
    assert rules == [("history.span", "info")]


def test_git_runs_nothing_the_repository_names(tmp_path: Path) -> None:
    commit(
        tmp_path,
        "2026-03-02T09:00:00Z",
        {"app.py": "x = 1\n", ".gitattributes": "*.py diff=evil\n"},
    )
    marker = tmp_path.parent / f"{tmp_path.name}-ran"
    script = f"touch {marker}"
    with (tmp_path / ".git" / "config").open("a") as config:
        run = f'sh -c "{script}"'
        config.write(f'[diff "evil"]\n\ttextconv = {run}\n[diff]\n\texternal = {run}\n'
                     f"[core]\n\tfsmonitor = {run}\n\tpager = {run}\n")  # fmt: skip
    hooks = tmp_path / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    for hook in ("post-checkout", "pre-commit", "reference-transaction"):
        (hooks / hook).write_text(f"#!/bin/sh\n{script}\n")
        (hooks / hook).chmod(0o755)
    commit(tmp_path, "2026-03-02T10:00:00Z", {"app.py": "x = 2\n"})  # runs its hooks: reset
    marker.unlink(missing_ok=True)
    section = history.read(tmp_path, 60)
    assert section["candidate_commits"] == 2
    assert not marker.exists()


def test_the_change_against_the_starter_is_a_bounded_diff(tmp_path: Path) -> None:
    starter, work = tmp_path / "starter", tmp_path / "work"
    before = {"app/main.py": "a\n", "gone.py": "g\n"}
    after = {"app/main.py": "a\nb\n", "new.py": "n\n", "brief.md": "B\n"}
    for root, files in ((starter, before), (work, after)):
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
    diff, counts = history.starter_diff(starter, work, {"brief.md": b"B\n"})
    assert counts == {"added": 1, "changed": 1, "removed": 1}
    assert "+++ submission/app/main.py" in diff and "+b" in diff
    assert "brief.md" not in diff  # the kit put it there


def test_a_pack_submission_gets_its_history_and_starter_diff_in_every_report(
    tmp_path: Path, settings: Settings
) -> None:
    pack = discover(settings.challenges_path).get("orders-api")
    commit(tmp_path, "2026-03-02T09:00:00Z", {"app/extra.py": "def f():\n    return 1\n"})
    section = history_of(tmp_path, pack)
    assert section["time_box_minutes"] == pack.spec.time_box_minutes
    assert section["squashed"]
    assert "+++ submission/app/extra.py" in section["starter_diff"]["diff"]
    evidence = history.evidence(section)
    report = Report(SubmissionInfo("ab" * 32, "s", "bundle", 1, 1), [evidence, Evidence("tests")],
                    history=section)  # fmt: skip
    assert report.to_json()["history"] == section
    page = render_html(report)
    assert 'id="history"' in page and "one squashed commit" in page
    out = io.StringIO()
    render_summary(report, Console(file=out, width=120, color_system=None))
    assert "History 1 commit over 0.0 min (time box" in out.getvalue()


def test_a_job_packs_sample_is_not_counted_as_the_candidates(
    tmp_path: Path, settings: Settings
) -> None:
    # The kit puts the public sample into the starter: a candidate who kept it added nothing.
    pack = discover(settings.challenges_path).get("sales-ledger")
    kit = tmp_path / "kit"
    build_kit(pack, kit)
    section = history_of(kit / "starter", pack)
    assert section["starter_diff"]["added"] == 0, section["starter_diff"]["diff"][:500]
