"""Readers for each submission format: a folder, a zip, a tar, a git bundle."""

from __future__ import annotations

import copy
import os
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import IO

from proofwork.intake.tree import (
    _BUNDLE_ADVICE,
    _SPECIAL,
    GIT_TIMEOUT_S,
    MAX_LINK_TARGET,
    IntakeError,
    _is_rebuilt,
    _mkdir,
    _readlink,
    _size,
    _Tree,
    _walk,
)


def _copy_directory(source: Path, tree: _Tree) -> None:
    """Copy files, folders and safe links of the folder `source` into `tree`."""
    for rel, entry in _walk(source, skip=_is_rebuilt):
        if entry.is_symlink():
            tree.add_symlink(rel, _readlink(entry.path))
        elif entry.is_dir(follow_symlinks=False):
            tree.add_dir(rel)
        elif entry.is_file(follow_symlinks=False):
            executable = bool(entry.stat(follow_symlinks=False).st_mode & 0o100)
            # O_NONBLOCK: if the file was swapped for a FIFO since the scan, don't hang on it.
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
            with os.fdopen(os.open(entry.path, flags), "rb") as stream:
                tree.add_file(rel, stream, executable)
        else:
            raise tree.refuse(rel, f"is {_SPECIAL}")


def _unpack_zip(source: Path, tree: _Tree) -> None:
    """Unpack the zip `source` into `tree`, one checked member at a time."""
    with zipfile.ZipFile(source) as archive:
        for info in archive.infolist():
            _add_zip_member(archive, info, tree)


def _add_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, tree: _Tree) -> None:
    # Some Windows tools write backslashes; treat them as separators so "..\\" is caught too.
    name = info.filename.replace("\\", "/")
    if name.split("/", 1)[0] == "__MACOSX":
        return  # Finder's resource-fork shadows of the real files, not code
    if info.flag_bits & 0x1:
        raise tree.refuse(name, "is encrypted; send the archive without a password")
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if info.is_dir() or kind == stat.S_IFDIR:
        tree.add_dir(name)
    elif kind == stat.S_IFLNK:
        tree.add_symlink(name, _zip_link_target(archive, info, tree, name))
    elif kind in (0, stat.S_IFREG):
        with _open_unbounded(archive, info) as stream:
            size = tree.add_file(name, stream, bool(mode & 0o111))
        if size != info.file_size:
            raise tree.refuse(name, f"declares {info.file_size} bytes but holds {size}")
    else:
        raise tree.refuse(name, f"is {_SPECIAL}")


def _open_unbounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    """Open a member so that it inflates to its real size, not the size its header claims."""
    # zipfile stops at the declared size and then fails the CRC check; lifting the limit lets
    # our own byte counting measure what a lying member really holds.
    unbounded = copy.copy(info)
    unbounded.file_size = 1 << 62
    return archive.open(unbounded)


def _zip_link_target(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, tree: _Tree, name: str
) -> str:
    with archive.open(info) as stream:
        target = stream.read(MAX_LINK_TARGET + 1)
    if len(target) > MAX_LINK_TARGET:
        raise tree.refuse(name, "is a symlink with an overlong target")
    return os.fsdecode(target)


def _unpack_tar(source: Path, tree: _Tree) -> None:
    """Unpack the tar (plain or compressed) `source` into `tree`, one checked member at a time."""
    with tarfile.open(source, mode="r:*") as archive:
        for member in archive:
            _add_tar_member(archive, member, tree)
            try:
                # Defense in depth: Python's own 'data' filter must agree with our checks.
                tarfile.data_filter(member, str(tree.root))
            except tarfile.FilterError as exc:
                raise tree.refuse(member.name, f"fails tarfile's data filter: {exc}") from exc


def _add_tar_member(archive: tarfile.TarFile, member: tarfile.TarInfo, tree: _Tree) -> None:
    name = member.name
    if member.isdir():
        tree.add_dir(name)
    elif member.isreg():
        stream = archive.extractfile(member)
        if stream is None:
            raise tree.refuse(name, "cannot be read")
        with stream:
            tree.add_file(name, stream, bool(member.mode & 0o111))
    elif member.issym():
        tree.add_symlink(name, member.linkname)
    elif member.islnk():
        tree.add_hardlink(name, member.linkname)
    else:
        raise tree.refuse(name, f"is {_SPECIAL}")


def _clone_bundle(source: Path, tree: _Tree, home: Path) -> None:
    """Clone the git bundle `source` into `tree` without hooks or network, within caps."""
    if source.stat().st_size > tree.caps.max_bytes:
        raise IntakeError(
            f"refused: bundle {source} is larger than {_size(tree.caps.max_bytes)}; "
            "bundle only the branch to grade"
        )
    env = _git_env(home)
    verify = home / "verify"  # `git bundle verify` needs a repository to check prerequisites in
    _git(["init", "--quiet", str(verify)], env)
    _git(["bundle", "verify", "--quiet", str(source)], env, cwd=verify, advice=_BUNDLE_ADVICE)
    # -c on clone is stored in the clone's config, so later git commands there run no hooks.
    options = ["--quiet", "--no-checkout", "-c", "core.hooksPath=/dev/null"]
    branch = _bundle_branch(source, env)
    _git(["clone", *options, *branch, str(source), str(tree.root)], env, advice=_BUNDLE_ADVICE)
    _check_git_tree(tree, env)
    _git(["checkout", "--quiet", "--force", "HEAD"], env, cwd=tree.root)


def _bundle_branch(source: Path, env: dict[str, str]) -> list[str]:
    """Clone options choosing what to check out: HEAD if the bundle has one, else a branch."""
    listing = _git(["bundle", "list-heads", str(source)], env, advice=_BUNDLE_ADVICE)
    refs = [line.split(" ", 1)[1] for line in os.fsdecode(listing).splitlines() if " " in line]
    if "HEAD" in refs:
        return []
    branches = [ref.removeprefix("refs/heads/") for ref in refs if ref.startswith("refs/heads/")]
    if not branches:
        raise IntakeError(f"refused: bundle {source} has no HEAD and no branch; {_BUNDLE_ADVICE}")
    return ["--branch", branches[0]]


def _check_git_tree(tree: _Tree, env: dict[str, str]) -> None:
    """Hold `.git` and the commit to check out to the caps before git writes the work tree."""
    for rel, entry in _walk(tree.root):
        tree.count_entry()
        if entry.is_file(follow_symlinks=False):
            size = entry.stat(follow_symlinks=False).st_size
            tree.charge(rel, 0, size, tree.caps.max_bytes)
    listing = _git(["ls-tree", "-r", "-l", "-z", "--full-tree", "HEAD"], env, cwd=tree.root)
    for record in os.fsdecode(listing).split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        field = meta.split()[3]  # "<mode> <type> <object> <size>"; "-" for submodules
        parts = tree.parts(path)
        tree.count_entry()
        if field != "-":
            tree.charge(path, int(field), int(field), tree.file_limit(parts))


def _git_env(home: Path) -> dict[str, str]:
    """A bare environment: no user or system git config, no prompts, no network transports."""
    _mkdir(home)
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": "file",
        "GIT_TERMINAL_PROMPT": "0",
    }


def _git(
    args: list[str], env: dict[str, str], *, cwd: Path | None = None, advice: str = ""
) -> bytes:
    """Run git with `args`; its stdout, or a refusal carrying git's complaint and `advice`."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError as exc:
        raise IntakeError("refused: git bundles need git on PATH; install git") from exc
    except subprocess.TimeoutExpired as exc:
        raise IntakeError(f"refused: git {args[0]} took over {GIT_TIMEOUT_S}s") from exc
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        why = f"refused: git {args[0]} failed ({lines[-1]})"
        raise IntakeError(f"{why}; {advice}" if advice else why)
    return done.stdout
