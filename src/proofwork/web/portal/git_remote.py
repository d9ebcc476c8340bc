"""Each invitation's git remote: a bare repository served by `git http-backend`.

The repository starts with the pack's starter commit (so `git clone` of the remote gives the
starter). A push that moves a branch becomes a submission: the pushed branch is bundled and goes
through the same intake as an upload. The repository is scratch space on this machine; what is
kept is the submission's blob in the store, so other workers never need this folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from proofwork.challenges import Pack
from proofwork.challenges.kit import GIT_ENV
from proofwork.config import Settings
from proofwork.web.portal.kit import starter_bundle

_LOCK = threading.Lock()


class GitRemoteError(Exception):
    """A git command on the remote's repository failed."""


@dataclass(frozen=True)
class Push:
    """A branch the push created or moved."""

    ref: str
    sha: str

    @property
    def branch(self) -> str:
        return self.ref.removeprefix("refs/heads/")


def root(settings: Settings) -> Path:
    """The folder holding every invitation's repository (the CGI's GIT_PROJECT_ROOT)."""
    return settings.home / "git"


def repo_name(invitation_id: str) -> str:
    return f"{invitation_id}.git"


def git_env(home: Path) -> dict[str, str]:
    """An environment for git that reads no user or system configuration."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        **GIT_ENV,
    }


def _git(argv: list[str], repo: Path, **kwargs: object) -> bytes:
    done = subprocess.run(
        ["git", *argv], cwd=repo, env=git_env(repo), capture_output=True, check=False, **kwargs
    )  # type: ignore[call-overload]
    if done.returncode != 0:
        raise GitRemoteError(f"git {argv[0]} failed: {done.stderr.decode(errors='replace')}")
    out: bytes = done.stdout
    return out


def ensure_repo(settings: Settings, invitation_id: str, pack: Pack | None) -> Path:
    """The invitation's bare repository, made on first use (holding the starter, if any)."""
    repo = root(settings) / repo_name(invitation_id)
    with _LOCK:
        if repo.is_dir():
            return repo
        repo.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".new-", dir=repo.parent))
        try:
            _init(scratch, settings, pack)
            scratch.rename(repo)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return repo


def _init(repo: Path, settings: Settings, pack: Pack | None) -> None:
    _git(["init", "--quiet", "--bare", "--initial-branch=main", "."], repo)
    config = {
        "http.receivepack": "true",
        "http.uploadpack": "true",
        "http.getanyfile": "false",  # smart protocol only
        "core.hooksPath": os.devnull,
        "receive.fsckObjects": "true",
        "receive.denyDeletes": "true",
        "receive.denyNonFastForwards": "false",
        "receive.maxInputSize": str(settings.max_bytes),
        "uploadpack.allowAnySHA1InWant": "false",
    }
    for key, value in config.items():
        _git(["config", key, value], repo)
    if pack is not None:
        with tempfile.NamedTemporaryFile(suffix=".bundle") as bundle:
            bundle.write(starter_bundle(pack))
            bundle.flush()
            _git(["fetch", "--quiet", bundle.name, "refs/heads/*:refs/heads/*"], repo)


def branches(repo: Path) -> dict[str, str]:
    """The repository's branches: ref name → commit."""
    out = _git(["for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/"], repo)
    return dict(line.split(" ", 1) for line in out.decode().splitlines() if " " in line)


def pushed(before: dict[str, str], after: dict[str, str]) -> Push | None:
    """The branch a push created or moved (the first by name, when it moved several)."""
    moved = sorted(ref for ref, sha in after.items() if before.get(ref) != sha)
    return Push(moved[0], after[moved[0]]) if moved else None


def restore(repo: Path, before: dict[str, str], after: dict[str, str]) -> None:
    """Put the branches back as they were (a push whose submission was refused)."""
    for ref, sha in after.items():
        if before.get(ref) == sha:
            continue
        if ref in before:
            _git(["update-ref", ref, before[ref], sha], repo)
        else:
            _git(["update-ref", "-d", ref, sha], repo)


def discard(repo: Path) -> None:
    """Remove the repository (its content lives on as a submission)."""
    with _LOCK:
        shutil.rmtree(repo, ignore_errors=True)


def bundle(repo: Path, push: Push, target: Path) -> Path:
    """The pushed branch with its history as a git bundle file at `target`."""
    _git(["bundle", "create", "--quiet", str(target), push.ref], repo)
    return target


def sideband(band: int, text: str) -> bytes:
    """A side-band pkt-line: band 2 shows as `remote: …` in git's output, band 3 as a fatal
    `remote error: …` that fails the push."""
    payload = bytes([band]) + text.encode()[:65000]
    return f"{len(payload) + 4:04x}".encode() + payload


def wants_sideband(request_head: bytes) -> bool:
    """Whether the client's receive-pack request asked for side-band messages."""
    return b"side-band-64k" in request_head or b"side-band" in request_head
