"""Small git histories built by the tests themselves: authors, dates, renames, merges."""

from __future__ import annotations

import subprocess
from pathlib import Path

DAY = 86400
T0 = 1704067200  # 2024-01-01T00:00:00Z


class GitRepo:
    """A repository whose commits are made with chosen authors and dates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run git in the repository with no user or system config."""
        base = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
        }
        done = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", *args],
            cwd=self.root,
            env={**base, **(env or {})},
            capture_output=True,
            check=True,
        )
        return done.stdout.decode()

    def _env(self, author: str, day: float) -> dict[str, str]:
        name, _, email = author.partition(" <")
        email = email.rstrip(">")
        stamp = f"@{int(T0 + day * DAY)} +0000"
        return {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
        }

    def commit(
        self,
        author: str,
        day: float,
        write: dict[str, str] | None = None,
        *,
        delete: tuple[str, ...] = (),
        move: tuple[tuple[str, str], ...] = (),
        message: str = "change",
    ) -> str:
        """Write, delete and move files, commit as `author` on `day` (days after T0)."""
        for old, new in move:
            (self.root / new).parent.mkdir(parents=True, exist_ok=True)
            self.git("mv", old, new)
        for path, text in (write or {}).items():
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            self.git("add", path)
        for path in delete:
            self.git("rm", "--quiet", path)
        self.git("commit", "--quiet", "--allow-empty", "-m", message, env=self._env(author, day))
        return self.git("rev-parse", "HEAD").strip()

    def merge(self, branch: str, author: str, day: float) -> None:
        """Merge `branch` into the current branch with a merge commit."""
        self.git(
            "merge",
            "--quiet",
            "--no-ff",
            "-m",
            f"merge {branch}",
            branch,
            env=self._env(author, day),
        )
