"""What a candidate receives for a challenge: the brief, the contract, the starter repository
(a git repo with one initial commit) and a self-check they can run on their own machine."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from proofwork.analysis.sources import read_bytes
from proofwork.challenges.pack import Pack
from proofwork.harness.checks import load_helpers

KIT_FILES = ("brief.md", "openapi.yaml")  # those the pack has (a job has no contract)
SAMPLE = "sample"  # a job pack's public sample, made by its checks' `_data.sample(seed)`
SELF_CHECK = "selfcheck.py"  # optional in a pack; stdlib-only, runs in the candidate's repo
TOOLING = (*KIT_FILES, SELF_CHECK)  # what the kit copies into the starter, when the pack has it
# A fixed identity and date: the same pack version always gives the same starter commit.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Proofwork",
    "GIT_AUTHOR_EMAIL": "kit@proofwork.invalid",
    "GIT_COMMITTER_NAME": "Proofwork",
    "GIT_COMMITTER_EMAIL": "kit@proofwork.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}
MAX_TOOLING_BYTES = 4 * 1024 * 1024  # read_bytes reads one more: a larger file never matches
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache")


def tooling(pack: Pack) -> dict[str, str]:
    """The files `build_kit` puts into the starter for tooling (the self-check, copies of the
    brief and the contract), by their path in the starter, with the sha256 of the pack's copy."""
    found = {}
    for name in TOOLING:
        path = pack.path(name)
        if path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def unchanged_tooling(pack: Pack, workspace: Path) -> frozenset[str]:
    """The kit's tooling files a submission still holds exactly as the pack wrote them: not
    the candidate's code, so no probe measures them. A changed copy is the candidate's."""
    kept = set()
    for name, digest in tooling(pack).items():
        raw = read_bytes(workspace / name, MAX_TOOLING_BYTES)
        if raw is not None and hashlib.sha256(raw).hexdigest() == digest:
            kept.add(name)
    return frozenset(kept)


def given_beside_starter(pack: Pack) -> dict[str, bytes]:
    """What `build_kit` adds to the pack's starter folder, by path in the starter: the tooling
    and, for a job, the public sample (a diff against the starter must not count them as the
    candidate's)."""
    given = {name: pack.path(name).read_bytes() for name in tooling(pack)}
    if pack.spec.kind == "job":
        for name, body in _sample(pack).items():
            given[f"{SAMPLE}/{name}"] = body
    return given


class KitError(Exception):
    """The kit could not be written (the target is not empty, git failed …)."""


def build_kit(pack: Pack, out: Path) -> list[Path]:
    """Write the candidate's kit into `out` (new or empty); return what was written."""
    if out.exists() and any(out.iterdir()):
        raise KitError(f"{out} is not empty: choose a new folder for the kit")
    out.mkdir(parents=True, exist_ok=True)
    shipped = [name for name in KIT_FILES if pack.path(name).is_file()]
    written = [_copy(pack.path(name), out / name) for name in shipped]
    starter = out / "starter"
    shutil.copytree(pack.path("starter"), starter, ignore=IGNORED)
    for name in tooling(pack):
        shutil.copy2(pack.path(name), starter / name)
    if pack.spec.kind == "job":
        _write_sample(pack, starter / SAMPLE)
    _initial_commit(starter, f"{pack.spec.title} ({pack.id} {pack.spec.version}): starter")
    written.append(starter)
    (out / "README.md").write_text(_readme(pack))
    written.append(out / "README.md")
    return written


def _sample(pack: Pack) -> dict[str, bytes]:
    # The generator is trusted pack code; only what it makes from the public seed ships.
    data = load_helpers(pack.path("checks"), "_data")
    files: dict[str, bytes] = data.sample(pack.spec.job.public_seed)
    return files


def _write_sample(pack: Pack, folder: Path) -> None:
    for name, body in _sample(pack).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)


def _copy(source: Path, target: Path) -> Path:
    shutil.copy2(source, target)
    return target


def _initial_commit(repo: Path, message: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo), **GIT_ENV}
    steps = [
        ["git", "init", "--quiet", "--initial-branch=main"],
        ["git", "add", "--all"],
        ["git", "-c", "commit.gpgsign=false", "commit", "--quiet", "--message", message],
    ]
    for argv in steps:
        done = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise KitError(f"{' '.join(argv[:2])} failed in {repo}: {done.stderr.strip()}")


def _readme(pack: Pack) -> str:
    hours = pack.spec.time_box_minutes / 60
    text = README_SERVICE if pack.spec.kind == "service" else README_JOB
    self_check = SELF_CHECK_SERVICE if pack.spec.kind == "service" else SELF_CHECK_JOB
    return text.format(
        title=pack.spec.title,
        hours=f"{hours:g}",
        self_check=self_check if pack.path(SELF_CHECK).is_file() else "",
    )


SELF_CHECK_SERVICE = """\
3. Check your work as often as you like: `python selfcheck.py` (in `starter/`) starts
   your service the way the grader does and runs a few public checks and your tests.
"""
SELF_CHECK_JOB = """\
3. Check your work as often as you like: `python selfcheck.py` (in `starter/`) runs your
   job the way the grader does on the public sample in `starter/sample/input/`, compares
   its outputs with `starter/sample/expected/`, and runs your tests.
"""
README_SERVICE = """# {title}

Time box: about {hours} hours.

1. Read `brief.md`: it is what the business needs, and the rules your service must follow.
   `openapi.yaml` is the contract clients are built against.
2. Work in `starter/`: it is a git repository with one initial commit. Commit as you go; the
   history is part of what we read.
{self_check}
When you are done, send the `starter/` folder (or `git bundle create work.bundle --all`).
We grade it by running it: hidden acceptance checks, your own tests, behaviour under load and
when the payment provider misbehaves, and a review of `DECISIONS.md`.
"""
README_JOB = """# {title}

Time box: about {hours} hours.

1. Read `brief.md`: it is what the business needs, and the rules your job must follow.
2. Work in `starter/`: it is a git repository with one initial commit. Commit as you go; the
   history is part of what we read.
{self_check}
When you are done, send the `starter/` folder (or `git bundle create work.bundle --all`).
We grade it by running it: hidden checks on other datasets, your own tests, a day larger than
the job's memory, and a review of `DECISIONS.md`.
"""
