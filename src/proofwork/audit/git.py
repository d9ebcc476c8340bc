"""Running git on a repository we do not trust: no hooks, filters, pagers or helpers it names.

The repository's own `.git/config` is read by git whatever we do, so every setting through which
a repository can make git run a program or read outside itself is overridden on the command line
(command-line `-c` wins over repository config), and the user's and system's config are ignored.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

GIT_TIMEOUT_S = 600
CHUNK = 1 << 20

# Each of these names a program git would run, or a file it would read, on the repository's say.
SAFE_CONFIG = (
    "safe.directory=*",  # our private copy belongs to us, but may have kept another owner's uid
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.pager=cat",
    "core.sshCommand=false",
    "core.askPass=false",
    "credential.helper=",
    "diff.external=",
    "log.showSignature=false",
    "gpg.program=false",
    "log.mailmap=true",
    "mailmap.file=",
    "mailmap.blob=",
    "i18n.logOutputEncoding=UTF-8",
    "protocol.allow=never",
    "diff.renames=true",
    "diff.renameLimit=1000",
)


class GitError(Exception):
    """git could not read what was asked; the message says what and why."""


def git_env(home: Path) -> dict[str, str]:
    """A bare environment: no user or system config, no prompts, no network."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_PAGER": "cat",
        "GIT_ALLOW_PROTOCOL": "file",
        "GIT_OPTIONAL_LOCKS": "0",
        "LC_ALL": "C",
    }


class Git:
    """git commands on one repository, every one with the safe settings above."""

    def __init__(self, repo: Path, home: Path) -> None:
        self.repo = repo
        self.env = git_env(home)
        if (repo / ".git").is_dir():
            # Pinned, so a `core.worktree` in the repository's config cannot point elsewhere.
            self.env |= {"GIT_DIR": str(repo / ".git"), "GIT_WORK_TREE": str(repo)}

    def argv(self, args: list[str]) -> list[str]:
        """The full command line for `args`."""
        configs = [item for setting in SAFE_CONFIG for item in ("-c", setting)]
        return ["git", "--no-pager", *configs, "-C", str(self.repo), *args]

    def run(self, args: list[str], *, check: bool = True, stdin: bytes | None = None) -> bytes:
        """git's stdout for `args`; a GitError with git's complaint when it fails and `check`."""
        try:
            done = subprocess.run(
                self.argv(args),
                env=self.env,
                input=stdin,
                capture_output=True,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed; install git to audit a repository") from exc
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} took over {GIT_TIMEOUT_S}s") from exc
        if check and done.returncode != 0:
            raise GitError(f"git {args[0]} failed: {last_line(done.stderr)}")
        return done.stdout

    def stream(self, args: list[str]) -> Iterator[bytes]:
        """git's stdout for `args` in chunks, as git writes it; GitError if it fails."""
        with tempfile.TemporaryFile() as stderr:
            try:
                process = subprocess.Popen(
                    self.argv(args),
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                )
            except FileNotFoundError as exc:
                raise GitError("git is not installed; install git to audit a repository") from exc
            deadline = time.monotonic() + GIT_TIMEOUT_S
            with process:
                try:
                    while chunk := process.stdout.read(CHUNK):  # type: ignore[union-attr]
                        yield chunk
                        if time.monotonic() > deadline:
                            raise GitError(f"git {args[0]} took over {GIT_TIMEOUT_S}s")
                except BaseException:
                    process.kill()
                    raise
            if process.returncode != 0:
                stderr.seek(0)
                raise GitError(f"git {args[0]} failed: {last_line(stderr.read(CHUNK))}")


def last_line(stderr: bytes) -> str:
    """git's last line of complaint, readable."""
    lines = stderr.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"
