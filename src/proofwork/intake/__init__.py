"""Safe intake: copy or unpack a submission into a fresh private folder, within caps.

A submission is hostile until proven otherwise, so nothing here trusts what an archive says
about itself: paths are checked member by member, bytes are counted as they are written, and
links are resolved inside the submission before they are kept. Either the whole submission
lands in `dest`, or nothing does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from proofwork.evidence import SubmissionInfo
from proofwork.intake.formats import (
    _clone_bundle,
    _copy_directory,
    _unpack_tar,
    _unpack_zip,
)
from proofwork.intake.tree import (
    _SPECIAL,
    _UNREADABLE,
    DEFAULT_CAPS,
    FORMATS,
    IntakeCaps,
    IntakeError,
    _is_top_git,
    _mkdir,
    _normalize_modes,
    _one_line,
    _readlink,
    _refuse_escaping_links,
    _Tree,
    _walk,
)

__all__ = ["DEFAULT_CAPS", "IntakeCaps", "IntakeError", "ingest", "submission_sha256"]


def ingest(source: Path, dest: Path, caps: IntakeCaps = DEFAULT_CAPS) -> SubmissionInfo:
    """Copy or unpack `source` into the new folder `dest` within `caps`; describe what landed."""
    kind = _detect(source)
    if os.path.lexists(dest):
        raise IntakeError(f"refused: destination {dest} already exists; pass a fresh folder")
    if kind == "directory" and dest.resolve().is_relative_to(source.resolve()):
        raise IntakeError(f"refused: destination {dest} is inside the submission {source}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Unpack beside dest and rename at the end, so dest never holds half a submission.
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.intake-", dir=dest.parent))
    except OSError as exc:
        raise IntakeError(f"intake failed: cannot create {dest}: {_one_line(exc)}") from exc
    try:
        _unpack(kind, source, staging, caps).rename(dest)
    except OSError as exc:
        raise IntakeError(f"intake failed: cannot write {dest}: {_one_line(exc)}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        return _settle(source, dest, kind)
    except BaseException as exc:
        shutil.rmtree(dest, ignore_errors=True)
        if isinstance(exc, OSError):
            raise IntakeError(f"intake failed: cannot read {dest}: {_one_line(exc)}") from exc
        raise


def submission_sha256(root: Path) -> str:
    """Content address of the tree at `root`: paths, types, exec bits and contents, not `.git`."""
    digest = hashlib.sha256()
    for rel, entry in sorted(_walk(root, skip=_is_top_git), key=lambda item: item[0]):
        kind, mode, content = _describe(rel, entry)
        digest.update(f"{kind} {mode} ".encode() + os.fsencode(rel) + f" {content}\n".encode())
    return digest.hexdigest()


def _describe(rel: str, entry: os.DirEntry[str]) -> tuple[str, str, str]:
    """One listing line's type, exec mark and content digest for `entry`."""
    if entry.is_symlink():
        return "l", "-", hashlib.sha256(os.fsencode(_readlink(entry.path))).hexdigest()
    if entry.is_dir(follow_symlinks=False):
        return "d", "-", "-"
    if not entry.is_file(follow_symlinks=False):
        raise IntakeError(f"refused: {rel!r} is {_SPECIAL}")
    executable = "x" if entry.stat(follow_symlinks=False).st_mode & 0o100 else "-"
    fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return "f", executable, hashlib.file_digest(handle, "sha256").hexdigest()


def _detect(source: Path) -> str:
    """The submission's kind, judged by content rather than by file name."""
    if source.is_dir():
        return "directory"
    if not source.exists():
        raise IntakeError(f"refused: {source} does not exist; pass {FORMATS}")
    try:
        with source.open("rb") as handle:
            head = handle.read(16)
        if head.startswith((b"# v2 git bundle\n", b"# v3 git bundle\n")):
            return "bundle"
        if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return "zip"
        if tarfile.is_tarfile(source):
            return "tar"
    except OSError as exc:
        raise IntakeError(f"refused: cannot read {source}: {exc.strerror}") from exc
    raise IntakeError(f"refused: {source} is not {FORMATS}")


def _unpack(kind: str, source: Path, staging: Path, caps: IntakeCaps) -> Path:
    """Fill a tree inside `staging` from `source`; return the folder that becomes `dest`."""
    root = staging / "tree"
    _mkdir(root)
    try:
        if kind == "directory":
            _copy_directory(source, _Tree(root, caps, "path"))
            return root
        if kind == "bundle":
            _clone_bundle(source, _Tree(root, caps, "bundle file"), staging / "home")
            return root
        unpack = _unpack_zip if kind == "zip" else _unpack_tar
        unpack(source, _Tree(root, caps, "archive member"))
    except _UNREADABLE as exc:
        raise IntakeError(f"refused: cannot read {source} as a {kind}: {_one_line(exc)}") from exc
    return _unwrapped(root)


def _unwrapped(root: Path) -> Path:
    """The one top folder an archive wraps everything in (sdists, GitHub zips), else `root`."""
    entries = list(root.iterdir())
    if len(entries) != 1:
        return root
    (top,) = entries
    if top.is_dir() and not top.is_symlink() and top.name != ".git":
        return top
    return root


def _settle(source: Path, dest: Path, kind: str) -> SubmissionInfo:
    """Check the tree in its final place and describe it."""
    _refuse_escaping_links(dest)
    if kind == "bundle":
        _normalize_modes(dest)
    files = total = 0
    for _, entry in _walk(dest, skip=_is_top_git):
        if entry.is_file(follow_symlinks=False):
            files += 1
            total += entry.stat(follow_symlinks=False).st_size
    return SubmissionInfo(
        sha256=submission_sha256(dest), source=str(source), kind=kind, files=files, bytes=total
    )
