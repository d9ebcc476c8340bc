"""The kit a candidate downloads, built by `proofwork challenge kit`'s code: as a zip, and its
starter repository as a git bundle. A pack version always gives the same starter commit, so
both are built once per pack version and kept in memory."""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
import threading
import zipfile
from pathlib import Path

from proofwork.challenges import Pack
from proofwork.challenges.kit import GIT_ENV, KitError, build_kit

KIT_FOLDER = "kit"


def kit_zip(pack: Pack) -> bytes:
    """The whole kit (brief, contract, README, starter with its git history) as a zip."""
    return _archives(pack)[0]


def starter_bundle(pack: Pack) -> bytes:
    """The starter repository as a git bundle (`git clone starter.bundle`)."""
    return _archives(pack)[1]


def download_name(pack: Pack, suffix: str) -> str:
    """A file name for a download: `<pack>-<version>-<what>`."""
    return f"{pack.id}-{pack.spec.version}-{suffix}"


_BUILT: dict[tuple[str, str], tuple[bytes, bytes]] = {}
_LOCK = threading.Lock()


def _archives(pack: Pack) -> tuple[bytes, bytes]:
    key = (str(pack.root), pack.spec.version)
    with _LOCK:
        if key not in _BUILT:
            with tempfile.TemporaryDirectory(prefix="pw-kit-") as scratch:
                out = Path(scratch) / KIT_FOLDER
                build_kit(pack, out)
                _BUILT[key] = (_zip(out), _bundle(out / "starter"))
        return _BUILT[key]


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder.parent).as_posix()
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            info = zipfile.ZipInfo(name + ("/" if path.is_dir() else ""), (2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o40755 if path.is_dir() else path.stat().st_mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, b"" if path.is_dir() else path.read_bytes())
    return buffer.getvalue()


def _bundle(repo: Path) -> bytes:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo), **GIT_ENV}
    done = subprocess.run(
        ["git", "bundle", "create", "-", "--all"],
        cwd=repo,
        env=env,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise KitError(f"git bundle failed in {repo}: {done.stderr.decode(errors='replace')}")
    return done.stdout
