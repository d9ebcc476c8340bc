"""Safe intake: copy or unpack a submission into a fresh private folder, within caps.

A submission is hostile until proven otherwise, so nothing here trusts what an archive says
about itself: paths are checked member by member, bytes are counted as they are written, and
links are resolved inside the submission before they are kept. Either the whole submission
lands in `dest`, or nothing does.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from proofwork.evidence import SubmissionInfo

MiB = 1024 * 1024
CHUNK = 64 * 1024
GIT_TIMEOUT_S = 300
MAX_LINK_TARGET = 4096
# A symlink chain longer than this is a loop (Linux gives up at 40 too).
MAX_LINK_HOPS = 40
FORMATS = "a directory, .zip, .tar.gz or git bundle"
_BUNDLE_ADVICE = "create it with `git bundle create submission.bundle --all`"

# Folders that are rebuilt from the code, never part of it; copying them only costs caps.
_CACHES = {"__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SKIPPED_FOLDERS = frozenset({".venv", "venv", "node_modules", ".eggs", *_CACHES})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SPECIAL = "a device, FIFO or socket; a submission holds only files, folders and links"
# What a damaged or unsupported archive raises while we read it.
_UNREADABLE = (
    OSError,
    EOFError,
    zlib.error,
    zipfile.BadZipFile,
    tarfile.TarError,
    NotImplementedError,
    RuntimeError,
)


@dataclass(frozen=True)
class IntakeCaps:
    max_bytes: int = 512 * MiB  # total unpacked bytes
    max_files: int = 20_000
    max_file_bytes: int = 64 * MiB
    max_depth: int = 32  # path components


class IntakeError(Exception):
    """A submission was refused; the message says what was wrong and what to do."""


DEFAULT_CAPS = IntakeCaps()


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


class _Tree:
    """Writes members under `root`, refusing unsafe paths and counting what really lands."""

    def __init__(self, root: Path, caps: IntakeCaps, noun: str) -> None:
        self.root = root
        self.caps = caps
        self.noun = noun
        self.entries = 0
        self.bytes = 0
        self.files: set[str] = set()  # regular files written so far, for tar hard links

    def refuse(self, name: str, why: str) -> IntakeError:
        """The refusal for member `name`, naming it."""
        return IntakeError(f"refused: {self.noun} {name!r} {why}")

    def parts(self, name: str) -> tuple[str, ...]:
        """The path components of member `name`, refused if it could land outside the tree."""
        if name.startswith("/") or _DRIVE.match(name):
            raise self.refuse(name, "has an absolute path; paths must be relative")
        parts = tuple(part for part in name.split("/") if part not in ("", "."))
        if ".." in parts:
            raise self.refuse(name, "escapes the submission folder")
        if _CONTROL.search(name):
            raise self.refuse(name, "has control characters in its name; rename it")
        if len(parts) > self.caps.max_depth:
            raise self.refuse(name, f"is nested deeper than {self.caps.max_depth} folders")
        return parts

    def count_entry(self) -> None:
        """Charge one file, folder or link against the count cap."""
        self.entries += 1
        if self.entries > self.caps.max_files:
            raise IntakeError(
                f"refused: the submission holds more than {self.caps.max_files} files and "
                "folders; leave out generated files and dependencies"
            )

    def charge(self, name: str, file_size: int, added: int, limit: int) -> None:
        """Charge `added` bytes of member `name`, now `file_size` long, against the byte caps."""
        self.bytes += added
        if file_size > limit:
            raise self.refuse(name, f"is larger than the {_size(limit)} per-file cap")
        if self.bytes > self.caps.max_bytes:
            raise IntakeError(
                f"refused: the submission unpacks to more than {_size(self.caps.max_bytes)}; "
                "leave out data files, build output and virtualenvs"
            )

    def file_limit(self, parts: tuple[str, ...]) -> int:
        """The per-file cap for a path; git packs may be large, the total cap still holds."""
        return self.caps.max_bytes if parts[0] == ".git" else self.caps.max_file_bytes

    def add_dir(self, name: str) -> None:
        """Create folder `name` (a no-op if an earlier member already made it)."""
        parts = self.parts(name)
        if not parts:
            return  # the archive's own "./" entry
        path = self._parent(name, parts)
        if path.is_dir() and not path.is_symlink():
            return
        if os.path.lexists(path):
            raise self.refuse(name, "appears twice, once as a file")
        self.count_entry()
        _mkdir(path)

    def add_file(self, name: str, stream: IO[bytes], executable: bool) -> int:
        """Write regular file `name` from `stream`; return the bytes really written."""
        parts = self._nonempty(name)
        path = self._parent(name, parts)
        self.count_entry()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except FileExistsError:
            raise self.refuse(name, "appears twice") from None
        size = 0
        limit = self.file_limit(parts)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                self.charge(name, size, len(chunk), limit)
                out.write(chunk)
            # Set explicitly: the archive's mode (setuid, world-writable) and the umask don't count.
            os.fchmod(out.fileno(), 0o755 if executable else 0o644)
        self.files.add("/".join(parts))
        return size

    def add_symlink(self, name: str, target: str) -> None:
        """Create symlink `name` -> `target`, refused unless it resolves inside the tree."""
        parts = self._nonempty(name)
        if not target or target.startswith("/") or _CONTROL.search(target):
            raise self.refuse(name, f"is a symlink to {target!r} outside the submission")
        if _escapes(self.root, [*parts[:-1], *target.split("/")]):
            raise self.refuse(name, f"is a symlink to {target!r} outside the submission")
        path = self._parent(name, parts)
        self.count_entry()
        try:
            path.symlink_to(target)
        except FileExistsError:
            raise self.refuse(name, "appears twice") from None

    def add_hardlink(self, name: str, target: str) -> None:
        """Copy the earlier member `target` to `name`: a copy cannot alias anything outside."""
        try:
            key = "/".join(self.parts(target))
        except IntakeError:
            raise self.refuse(
                name, f"is a hard link to {target!r} outside the submission"
            ) from None
        if key not in self.files:
            raise self.refuse(name, f"is a hard link to {target!r}, not an earlier file")
        source = self.root / key
        executable = bool(source.stat().st_mode & 0o100)
        with source.open("rb") as stream:
            self.add_file(name, stream, executable)

    def _nonempty(self, name: str) -> tuple[str, ...]:
        parts = self.parts(name)
        if not parts:
            raise self.refuse(name, "has an empty path")
        return parts

    def _parent(self, name: str, parts: tuple[str, ...]) -> Path:
        """Make the folders above member `name`, never writing through a symlink."""
        here = self.root
        for depth, part in enumerate(parts[:-1], start=1):
            here = here / part
            try:
                mode = os.lstat(here).st_mode
            except FileNotFoundError:
                self.count_entry()
                _mkdir(here)
                continue
            if stat.S_ISLNK(mode):
                where = "/".join(parts[:depth])
                raise self.refuse(name, f"would be written through the symlink {where!r}")
            if not stat.S_ISDIR(mode):
                raise self.refuse(name, "sits below a path that is a file")
        return here / parts[-1]


def _escapes(root: Path, parts: list[str]) -> bool:
    """Whether walking `parts` from `root`, following symlinks, ever steps above `root`."""
    pending = list(reversed(parts))
    here: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not here:
                return True
            here.pop()
            continue
        here.append(part)
        path = root.joinpath(*here)
        if not path.is_symlink():
            continue
        hops += 1
        target = _readlink(path)
        if target.startswith("/"):
            return True
        if hops > MAX_LINK_HOPS:
            return False  # a loop resolves nowhere, so it cannot reach outside either
        here.pop()
        pending.extend(reversed(target.split("/")))
    return False


def _refuse_escaping_links(root: Path) -> None:
    """Refuse any symlink under `root` that resolves outside it, wherever the tree is moved."""
    for rel, entry in _walk(root):
        if entry.is_symlink() and _escapes(root, rel.split("/")):
            target = _readlink(entry.path)
            raise IntakeError(
                f"refused: symlink {rel!r} points to {target!r}, outside the submission"
            )


def _normalize_modes(root: Path) -> None:
    """Give git's checkout our modes (0o644/0o755), whatever the umask was."""
    for _, entry in _walk(root, skip=_is_top_git):
        if entry.is_symlink():
            continue
        st_mode = entry.stat(follow_symlinks=False).st_mode
        executable = entry.is_dir(follow_symlinks=False) or st_mode & 0o100
        Path(entry.path).chmod(0o755 if executable else 0o644)


def _walk(
    root: Path, skip: Callable[[str, os.DirEntry[str]], bool] = lambda rel, entry: False
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under `root` as (relative POSIX path, entry), never following symlinks."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda item: item.name):
                rel = prefix + entry.name
                if skip(rel, entry):
                    continue
                yield rel, entry
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), rel + "/"))


def _is_top_git(rel: str, entry: os.DirEntry[str]) -> bool:
    return rel == ".git"


def _is_rebuilt(rel: str, entry: os.DirEntry[str]) -> bool:
    """Whether `entry` is a folder of tool output that directory intake leaves behind."""
    if not entry.is_dir(follow_symlinks=False):
        return False
    name = entry.name
    if name in SKIPPED_FOLDERS or name.endswith(".egg-info"):
        return True
    return name == "env" and (Path(entry.path) / "pyvenv.cfg").exists()


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


def _readlink(path: str | Path) -> str:
    """A symlink's target text, verbatim."""
    # os.readlink, not Path.readlink(): the latter normalises "./x" to "x".
    return os.readlink(path)


def _mkdir(path: Path) -> None:
    path.mkdir()
    path.chmod(0o755)  # explicit, so the umask can't make it 0o700 or 0o777


def _size(size: int) -> str:
    return f"{size / MiB:g} MiB" if size >= MiB else f"{size} bytes"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
