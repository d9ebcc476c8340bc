"""The history pass on awkward repositories, its cache, and git kept from running anything."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from gitrepo import GitRepo

from proofwork.audit.git import Git
from proofwork.audit.history import is_bot, read_history
from proofwork.audit.lineage import fold
from proofwork.audit.run import AuditError, AuditRequest, audit
from proofwork.config import Settings
from proofwork.reports.json_report import AUDIT_SCHEMA_RESOURCE, validate

ALICE = "Alice <alice@example.com>"
BOB = "Bob <bob@example.com>"

MakeRepo = Callable[[str], GitRepo]


def run_audit(source: Path, settings: Settings) -> dict:
    """Audit without the sandboxed probes; every audit must match its schema."""
    document = audit(AuditRequest(source, settings, run_probes=False)).to_json()
    validate(document, AUDIT_SCHEMA_RESOURCE)
    return document


def test_a_folder_that_is_not_a_repository_gets_a_partial_audit(
    tmp_path: Path, audit_settings: Settings
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "app.py").write_text(
        "def f():\n    try:\n        return 1\n    except:\n        pass\n"
    )
    document = run_audit(folder, audit_settings)
    assert document["problems"] == ["not a git repository: no history to read"]
    assert document["knowledge"]["truck_factor"]["value"] == 0
    assert [f["rule"] for f in document["findings"]] == ["audit.swallowed_error"]


def test_a_repository_without_commits_says_so(
    make_repo: MakeRepo, audit_settings: Settings
) -> None:
    repo = make_repo("empty")
    (repo.root / "app.py").write_text("x = 1\n")
    document = run_audit(repo.root, audit_settings)
    assert document["problems"] == ["the repository has no commits yet"]
    assert document["repository"]["commits"] == 0


def test_a_missing_path_is_refused_with_a_reason(tmp_path: Path, audit_settings: Settings) -> None:
    with pytest.raises(AuditError, match="does not exist"):
        run_audit(tmp_path / "nowhere", audit_settings)


def test_a_shallow_clone_is_audited_and_flagged(
    make_repo: MakeRepo, audit_settings: Settings, tmp_path: Path
) -> None:
    repo = make_repo("full")
    for day in range(5):
        repo.commit(ALICE if day < 3 else BOB, day, {"app.py": f"x = {day}\n"})
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth", "2", f"file://{repo.root}", str(shallow)],
        check=True,
        capture_output=True,
    )
    document = run_audit(shallow, audit_settings)
    assert document["repository"]["shallow"] is True
    assert document["repository"]["commits"] == 2
    assert any(p.startswith("shallow clone") for p in document["problems"])


def test_non_utf8_names_and_paths_are_kept_readable(
    make_repo: MakeRepo, audit_settings: Settings
) -> None:
    repo = make_repo("latin1")
    odd = os.fsdecode(b"caf\xe9.py")
    (repo.root / odd).write_text("x = 1\n")
    repo.git("add", "--", odd)
    # `git commit` would re-encode a Latin-1 name, so the commit object is written by hand.
    tree = repo.git("write-tree").strip()
    raw = (
        f"tree {tree}\n".encode()
        + b"author Jos\xe9 <jose@example.com> 1704067200 +0000\n"
        + b"committer Jos\xe9 <jose@example.com> 1704067200 +0000\n\nlatin-1\n"
    )
    made = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin", "--literally"],
        cwd=repo.root,
        input=raw,
        capture_output=True,
        check=True,
    )
    repo.git("update-ref", "refs/heads/main", made.stdout.decode().strip())
    document = run_audit(repo.root, audit_settings)
    json.dumps(document, ensure_ascii=False).encode("utf-8")  # every string is valid text
    assert document["knowledge"]["truck_factor"]["authors"] == ["Jos\\xe9"]
    assert [f["path"] for f in document["maintainability"]["files"]] == ["caf\\xe9.py"]
    assert any("not UTF-8" in p for p in document["problems"])


def test_a_git_bundle_is_audited_like_its_repository(
    make_repo: MakeRepo, audit_settings: Settings, tmp_path: Path
) -> None:
    repo = make_repo("bundled")
    repo.commit(ALICE, 0, {"a.py": "x = 1\n"})
    repo.commit(BOB, 1, {"a.py": "x = 2\n"})
    bundle = tmp_path / "repo.bundle"
    repo.git("bundle", "create", "--quiet", str(bundle), "--all")
    document = run_audit(bundle, audit_settings)
    assert document["repository"]["commits"] == 2
    assert document["maintainability"]["files"][0]["changes"] == 2


def test_the_second_audit_reads_only_new_commits(
    make_repo: MakeRepo, audit_settings: Settings
) -> None:
    repo = make_repo("cached")
    for day in range(4):
        repo.commit(ALICE, day, {"a.py": f"x = {day}\n", "b.py": f"y = {day}\n"})
    first = run_audit(repo.root, audit_settings)
    assert (first["repository"]["commits_read"], first["repository"]["from_cache"]) == (4, 0)
    again = run_audit(repo.root, audit_settings)
    assert (again["repository"]["commits_read"], again["repository"]["from_cache"]) == (0, 4)
    repo.commit(BOB, 5, move=(("a.py", "c.py"),))
    repo.commit(BOB, 6, {"c.py": "x = 6\n"})
    later = run_audit(repo.root, audit_settings)
    assert (later["repository"]["commits_read"], later["repository"]["from_cache"]) == (2, 4)
    changes = {f["path"]: f["changes"] for f in later["maintainability"]["files"]}
    assert changes == {"c.py": 6, "b.py": 4}  # a.py's cached history followed into c.py
    assert later["maintainability"] == run_audit_fresh(repo.root, audit_settings)


def run_audit_fresh(source: Path, settings: Settings) -> dict:
    fresh = Settings(home=settings.home.parent / "fresh-home")
    return run_audit(source, fresh)["maintainability"]


def test_git_runs_none_of_the_repositorys_programs(
    make_repo: MakeRepo, audit_settings: Settings, tmp_path: Path
) -> None:
    repo = make_repo("hostile")
    repo.commit(ALICE, 0, {"a.py": "x = 1\n"})
    marker = tmp_path / "ran"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\necho ran >> {marker}\n")
    script.chmod(0o755)
    for key in ("core.fsmonitor", "core.pager", "diff.external", "gpg.program", "core.sshCommand"):
        repo.git("config", key, str(script))
    repo.git("config", "log.showSignature", "true")
    hooks = repo.root / ".git" / "hooks"
    for hook in ("post-checkout", "pre-auto-gc", "reference-transaction"):
        (hooks / hook).write_text(script.read_text())
        (hooks / hook).chmod(0o755)
    run_audit(repo.root, audit_settings)
    bundle = tmp_path / "hostile.bundle"
    repo.git("bundle", "create", "--quiet", str(bundle), "--all")
    run_audit(bundle, audit_settings)
    assert not marker.exists()


def test_renames_chain_back_and_a_recreated_path_starts_afresh(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("renames")
    repo.commit(ALICE, 0, {"old.py": "a = 1\n" * 20})
    repo.commit(ALICE, 1, move=(("old.py", "mid.py"),))
    repo.commit(BOB, 2, move=(("mid.py", "new.py"),))
    repo.commit(BOB, 3, {"old.py": "b = 2\n"})  # a different file at the first name
    git = Git(repo.root, tmp_path)
    history = read_history(git)
    lineages = fold(history.commits, {"new.py", "old.py"})
    assert [t.path for t in lineages.files["new.py"].touches] == ["new.py", "mid.py", "old.py"]
    assert lineages.files["new.py"].creator == "alice"
    assert [t.path for t in lineages.files["old.py"].touches] == ["old.py"]
    assert lineages.files["old.py"].creator == "bob"


@pytest.mark.parametrize(
    ("name", "email", "bot"),
    [
        ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", True),
        ("renovate-bot", "bot@renovateapp.com", True),
        ("github-actions", "41898282+github-actions[bot]@users.noreply.github.com", True),
        ("Abbott Costello", "abbott@example.com", False),
        ("Robot Smith", "robot@example.com", False),
    ],
)
def test_bots_are_told_from_people(name: str, email: str, bot: bool) -> None:
    assert is_bot(name, email) is bot


def test_names_that_share_an_email_are_one_person(make_repo: MakeRepo, tmp_path: Path) -> None:
    repo = make_repo("aliases")
    repo.commit("Mitch.Garnaat <mitch@example.com>", 0, {"a.py": "x = 1\n"})
    repo.commit("mitch garnaat <mg@example.com>", 1, {"a.py": "x = 2\n"})
    repo.commit("Garnaat <mg@example.com>", 2, {"a.py": "x = 3\n"})
    repo.commit("Root <root@localhost>", 3, {"b.py": "y = 1\n"})
    repo.commit("Other <root@localhost>", 4, {"b.py": "y = 2\n"})
    history = read_history(Git(repo.root, tmp_path))
    lineages = fold(history.commits, {"a.py", "b.py"})
    (mitch,) = {t.author for t in lineages.files["a.py"].touches}
    assert lineages.names[mitch] in ("Mitch.Garnaat", "mitch garnaat", "Garnaat")
    assert {t.author for t in lineages.files["b.py"].touches} == {"root", "other"}


def test_a_changed_mailmap_means_a_fresh_read(
    make_repo: MakeRepo, audit_settings: Settings
) -> None:
    repo = make_repo("mailmapped")
    repo.commit("Al <al@example.com>", 0, {"a.py": "x = 1\n"})
    repo.commit("Alan <alan@example.com>", 1, {"a.py": "x = 2\n"})
    before = run_audit(repo.root, audit_settings)
    assert before["repository"]["authors"] == 2
    repo.commit(ALICE, 2, {".mailmap": "Alan <alan@example.com> Al <al@example.com>\n"})
    after = run_audit(repo.root, audit_settings)
    assert after["repository"]["commits_read"] == 3  # not 1: the cached names are stale
    assert after["repository"]["authors"] == 2  # Al is Alan now; Alice joined


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("app/core.py", "app"),
        ("setup.py", "."),
        ("src/shop/pricing.py", "src/shop"),
        ("src/main.py", "src"),
        ("lib/util/io.py", "lib/util"),
    ],
)
def test_packages_are_top_folders_or_src_layout_packages(path: str, package: str) -> None:
    from proofwork.audit.knowledge import top_level

    assert top_level(path) == package
