"""Intake: every format lands the same tree, and every trick an archive can play is refused."""

from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from proofwork.intake import IntakeCaps, IntakeError, ingest, submission_sha256

SAMPLE = {
    "app.py": b"print('hello')\n",
    "pkg/__init__.py": b"",
    "pkg/core.py": b"def answer() -> int:\n    return 42\n",
    "bin/run.sh": b"#!/bin/sh\nexec python app.py\n",
}
EXECUTABLE = {"bin/run.sh"}
LINKS = {"pkg/alias.py": "core.py"}
SMALL = IntakeCaps(max_bytes=4 * 1024 * 1024, max_files=50, max_file_bytes=1024 * 1024)


# --- builders ------------------------------------------------------------------------------


def write_tree(root: Path) -> Path:
    """The sample project as a plain folder, with an executable script and a relative link."""
    for rel, data in SAMPLE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o755 if rel in EXECUTABLE else 0o644)
    for rel, target in LINKS.items():
        (root / rel).symlink_to(target)
    return root


def zip_tree(root: Path, path: Path, *, prefix: str = "", reverse: bool = False) -> Path:
    """Zip `root` under `prefix`, in reverse order if asked, links stored as symlinks."""
    rels = sorted((p.relative_to(root).as_posix() for p in root.rglob("*")), reverse=reverse)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in rels:
            source = root / rel
            if source.is_symlink():
                zip_symlink(archive, prefix + rel, str(source.readlink()))
            elif source.is_dir():
                archive.writestr(prefix + rel + "/", b"")
            else:
                info = zipfile.ZipInfo(prefix + rel)
                info.external_attr = (stat.S_IFREG | source.stat().st_mode & 0o777) << 16
                archive.writestr(info, source.read_bytes(), zipfile.ZIP_DEFLATED)
    return path


def zip_symlink(archive: zipfile.ZipFile, name: str, target: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive.writestr(info, target)


def zip_with(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return path


def tar_tree(root: Path, path: Path, *, prefix: str = "") -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for source in sorted(root.rglob("*")):
            arcname = prefix + source.relative_to(root).as_posix()
            archive.add(source, arcname=arcname, recursive=False)
    return path


def member(
    name: str,
    kind: bytes = tarfile.REGTYPE,
    *,
    data: bytes = b"",
    linkname: str = "",
    mode: int = 0o644,
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def tar_with(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def git(*args: str, cwd: Path) -> str:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Candidate",
        "GIT_AUTHOR_EMAIL": "candidate@example.com",
        "GIT_COMMITTER_NAME": "Candidate",
        "GIT_COMMITTER_EMAIL": "candidate@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def repo_of(root: Path, repo: Path) -> Path:
    shutil.copytree(root, repo, symlinks=True)
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "--message=work sample", cwd=repo)
    return repo


def bundle_of(repo: Path, path: Path, *refs: str) -> Path:
    git("bundle", "create", "--quiet", str(path), *(refs or ("--all",)), cwd=repo)
    return path


def assert_refused(source: Path, dest: Path, match: str, caps: IntakeCaps = SMALL) -> IntakeError:
    with pytest.raises(IntakeError, match=match) as refused:
        ingest(source, dest, caps)
    assert not os.path.lexists(dest)
    leftovers = [p.name for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.")]
    assert leftovers == []
    assert "\n" not in str(refused.value)
    return refused.value


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "project")


# --- same tree, every format ---------------------------------------------------------------


def test_it_gives_the_same_sha256_for_directory_zip_tar_and_bundle(
    tree: Path, tmp_path: Path
) -> None:
    sources = {
        "directory": tree,
        "zip": zip_tree(tree, tmp_path / "project.zip", prefix="project-1.0/", reverse=True),
        "tar": tar_tree(tree, tmp_path / "project.tar.gz"),
        "bundle": bundle_of(repo_of(tree, tmp_path / "repo"), tmp_path / "project.bundle"),
    }
    infos = {kind: ingest(source, tmp_path / f"out-{kind}") for kind, source in sources.items()}

    assert {info.sha256 for info in infos.values()} == {submission_sha256(tree)}
    assert {kind: info.kind for kind, info in infos.items()} == {k: k for k in sources}
    assert {(info.files, info.bytes) for info in infos.values()} == {
        (len(SAMPLE), sum(map(len, SAMPLE.values())))
    }
    assert infos["zip"].source == str(sources["zip"])


def test_it_changes_the_sha256_when_only_the_exec_bit_changes(tree: Path) -> None:
    before = submission_sha256(tree)
    (tree / "app.py").chmod(0o755)
    assert submission_sha256(tree) != before


def test_it_unwraps_a_single_top_folder(tree: Path, tmp_path: Path) -> None:
    source = tar_tree(tree, tmp_path / "sdist.tar.gz", prefix="project-1.0/")
    ingest(source, tmp_path / "out")
    assert (tmp_path / "out" / "app.py").read_bytes() == SAMPLE["app.py"]
    assert not (tmp_path / "out" / "project-1.0").exists()


def test_it_keeps_two_top_folders_as_they_are(tmp_path: Path) -> None:
    source = zip_with(tmp_path / "two.zip", {"src/a.py": b"a", "tests/test_a.py": b"t"})
    ingest(source, tmp_path / "out")
    assert (tmp_path / "out" / "src" / "a.py").exists()
    assert (tmp_path / "out" / "tests" / "test_a.py").exists()


def test_it_detects_the_format_by_content_not_name(tree: Path, tmp_path: Path) -> None:
    source = zip_tree(tree, tmp_path / "upload.bin")
    assert ingest(source, tmp_path / "out").kind == "zip"


def test_it_keeps_the_exec_bit_and_drops_setuid_and_odd_modes(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "modes.tar.gz",
        member("tool", data=b"#!/bin/sh\n", mode=0o4777),
        member("private.txt", data=b"secret", mode=0o600),
        member("shared", tarfile.DIRTYPE, mode=0o1777),
    )
    out = tmp_path / "out"
    ingest(source, out)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in out.iterdir()}
    assert modes == {"tool": 0o755, "private.txt": 0o644, "shared": 0o755}


def test_it_keeps_exec_bits_from_zip(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ingest(zip_tree(tree, tmp_path / "project.zip"), out)
    assert stat.S_IMODE((out / "bin" / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "app.py").stat().st_mode) == 0o644


def test_it_keeps_relative_symlinks_inside_the_submission(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ingest(tar_tree(tree, tmp_path / "project.tar.gz"), out)
    assert (out / "pkg" / "alias.py").readlink() == Path("core.py")


def test_it_copies_a_tar_hardlink_to_an_earlier_file(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "links.tar.gz",
        member("a.py", data=b"x = 1\n"),
        member("b.py", tarfile.LNKTYPE, linkname="a.py"),
    )
    out = tmp_path / "out"
    info = ingest(source, out)
    assert (out / "b.py").read_bytes() == b"x = 1\n"
    assert (out / "b.py").stat().st_nlink == 1
    assert (info.files, info.bytes) == (2, 12)


# --- refusals ------------------------------------------------------------------------------


def test_it_refuses_zip_slip(tmp_path: Path) -> None:
    source = zip_with(tmp_path / "slip.zip", {"ok.py": b"", "../evil.py": b"boom"})
    error = assert_refused(source, tmp_path / "out", "escapes the submission folder")
    assert "'../evil.py'" in str(error)
    assert not (tmp_path / "evil.py").exists()


def test_it_refuses_zip_slip_with_backslashes(tmp_path: Path) -> None:
    source = zip_with(tmp_path / "slip.zip", {"..\\evil.py": b"boom"})
    assert_refused(source, tmp_path / "out", "escapes the submission folder")


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_it_refuses_absolute_paths(tmp_path: Path, kind: str) -> None:
    if kind == "zip":
        source = zip_with(tmp_path / "abs.zip", {"/tmp/abs.py": b"boom"})
    else:
        source = tar_with(tmp_path / "abs.tar.gz", member("/tmp/abs.py", data=b"boom"))
    assert_refused(source, tmp_path / "out", "'/tmp/abs.py' has an absolute path")


def test_it_refuses_a_tar_symlink_to_etc_passwd(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "link.tar.gz", member("passwd", tarfile.SYMTYPE, linkname="/etc/passwd")
    )
    assert_refused(source, tmp_path / "out", "'passwd' is a symlink to '/etc/passwd' outside")


def test_it_refuses_a_zip_symlink_to_etc_passwd(tmp_path: Path) -> None:
    source = tmp_path / "link.zip"
    with zipfile.ZipFile(source, "w") as archive:
        zip_symlink(archive, "passwd", "/etc/passwd")
    assert_refused(source, tmp_path / "out", "'passwd' is a symlink to '/etc/passwd' outside")


def test_it_refuses_a_relative_symlink_that_climbs_out(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "climb.tar.gz",
        member("pkg/up", tarfile.SYMTYPE, linkname="../../../etc/passwd"),
    )
    assert_refused(source, tmp_path / "out", "outside the submission")


def test_it_refuses_a_symlink_that_climbs_out_through_another_symlink(tmp_path: Path) -> None:
    # Lexically "here/../secret" stays inside; on disk "here" is the root, so ".." leaves it.
    source = tar_with(
        tmp_path / "chain.tar.gz",
        member("here", tarfile.SYMTYPE, linkname="."),
        member("secret", tarfile.SYMTYPE, linkname="here/../secret"),
    )
    assert_refused(source, tmp_path / "out", "'secret' is a symlink to 'here/../secret'")


def test_it_refuses_writing_through_a_symlink(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "through.tar.gz",
        member("pkg", tarfile.DIRTYPE, mode=0o755),
        member("lib", tarfile.SYMTYPE, linkname="pkg"),
        member("lib/evil.py", data=b"boom"),
    )
    assert_refused(source, tmp_path / "out", "written through the symlink 'lib'")


def test_it_refuses_a_symlink_that_escapes_only_after_unwrapping(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "wrapped.tar.gz",
        member("top/app.py", data=b""),
        member("top/up", tarfile.SYMTYPE, linkname="../top/app.py"),
    )
    assert_refused(source, tmp_path / "out", "symlink 'up' points to '../top/app.py', outside")


def test_it_refuses_a_hardlink_outside(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "hard.tar.gz", member("shadow", tarfile.LNKTYPE, linkname="../../etc/shadow")
    )
    assert_refused(source, tmp_path / "out", "'shadow' is a hard link to '../../etc/shadow'")


def test_it_refuses_a_hardlink_to_a_member_not_yet_extracted(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "early.tar.gz",
        member("b.py", tarfile.LNKTYPE, linkname="a.py"),
        member("a.py", data=b""),
    )
    assert_refused(source, tmp_path / "out", "not an earlier file")


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_it_refuses_device_files_and_fifos_in_tar(tmp_path: Path, kind: bytes) -> None:
    source = tar_with(tmp_path / "dev.tar.gz", member("dev/null", kind))
    assert_refused(source, tmp_path / "out", "'dev/null' is a device, FIFO or socket")


def test_it_refuses_a_zip_bomb_that_lies_about_its_size(tmp_path: Path) -> None:
    # 2 MiB of zeros deflate to ~2 KiB; the headers then claim the member holds 10 bytes.
    source = tmp_path / "bomb.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.bin", bytes(2 * 1024 * 1024))
    raw = bytearray(source.read_bytes())
    struct.pack_into("<I", raw, raw.index(b"PK\x03\x04") + 22, 10)
    struct.pack_into("<I", raw, raw.index(b"PK\x01\x02") + 24, 10)
    source.write_bytes(raw)
    assert_refused(source, tmp_path / "out", "'bomb.bin' is larger than the 1 MiB per-file cap")


def test_it_refuses_too_many_files(tmp_path: Path) -> None:
    source = zip_with(tmp_path / "many.zip", {f"f{i}.py": b"" for i in range(60)})
    assert_refused(source, tmp_path / "out", "more than 50 files and folders")


def test_it_refuses_paths_nested_too_deep(tmp_path: Path) -> None:
    source = zip_with(tmp_path / "deep.zip", {"/".join("d" * 6) + "/x.py": b""})
    caps = IntakeCaps(max_depth=5)
    assert_refused(source, tmp_path / "out", "nested deeper than 5 folders", caps)


def test_it_refuses_a_file_over_the_per_file_cap(tmp_path: Path) -> None:
    source = tar_with(tmp_path / "big.tar.gz", member("big.bin", data=bytes(1024 * 1024 + 1)))
    assert_refused(source, tmp_path / "out", "'big.bin' is larger than the 1 MiB per-file cap")


def test_it_refuses_more_bytes_than_the_total_cap(tmp_path: Path) -> None:
    chunk = bytes(1024 * 1024)
    source = zip_with(tmp_path / "fat.zip", {f"part{i}.bin": chunk for i in range(5)})
    assert_refused(source, tmp_path / "out", "unpacks to more than 4 MiB")


def test_it_refuses_a_member_that_appears_twice(tmp_path: Path) -> None:
    source = tar_with(
        tmp_path / "twice.tar.gz", member("a.py", data=b"1"), member("a.py", data=b"2")
    )
    assert_refused(source, tmp_path / "out", "'a.py' appears twice")


def test_it_refuses_unknown_formats_and_missing_sources(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just some text\n")
    assert_refused(notes, tmp_path / "out", "is not a directory, .zip, .tar.gz or git bundle")
    assert_refused(tmp_path / "missing.zip", tmp_path / "out", "does not exist")


def test_it_refuses_an_existing_destination_and_leaves_it_alone(tree: Path, tmp_path: Path) -> None:
    dest = tmp_path / "taken"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(IntakeError, match="already exists"):
        ingest(tree, dest)
    assert (dest / "keep.txt").read_text() == "mine"


def test_it_refuses_a_destination_inside_the_submission(tree: Path) -> None:
    with pytest.raises(IntakeError, match="inside the submission"):
        ingest(tree, tree / "workspace")
    assert not (tree / "workspace").exists()


# --- directories ---------------------------------------------------------------------------


def test_it_skips_rebuilt_folders_in_directory_intake(tree: Path, tmp_path: Path) -> None:
    (tree / "src" / "env").mkdir(parents=True)  # a package named env is code, not a virtualenv
    (tree / "src" / "env" / "settings.py").write_text("DEBUG = False\n")
    clean = submission_sha256(tree)
    for junk in [".venv", "venv", "env", "pkg/__pycache__", ".tox", ".nox", ".mypy_cache"]:
        (tree / junk).mkdir(parents=True)
        (tree / junk / "junk.bin").write_bytes(b"junk")
    for junk in [".pytest_cache", ".ruff_cache", "web/node_modules", ".eggs", "p.egg-info"]:
        (tree / junk).mkdir(parents=True)
    (tree / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    out = tmp_path / "out"

    info = ingest(tree, out)

    kept = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    code = [*SAMPLE, *LINKS, "pkg", "bin", "src", "src/env", "src/env/settings.py", "web"]
    assert kept == sorted([*code, ".git", ".git/HEAD"])
    assert info.files == len(SAMPLE) + 1  # .git is not counted as the candidate's files
    assert info.sha256 != clean  # the empty "web" folder is part of the tree
    (out / "web").rmdir()
    assert submission_sha256(out) == clean  # and .git is left out of the address


def test_it_refuses_a_fifo_in_a_directory(tree: Path, tmp_path: Path) -> None:
    os.mkfifo(tree / "pipe")
    assert_refused(tree, tmp_path / "out", "'pipe' is a device, FIFO or socket")


def test_it_refuses_a_directory_symlink_outside(tree: Path, tmp_path: Path) -> None:
    (tree / "pkg" / "passwd").symlink_to("/etc/passwd")
    assert_refused(tree, tmp_path / "out", "'pkg/passwd' is a symlink to '/etc/passwd'")


# --- git bundles ---------------------------------------------------------------------------


def test_it_round_trips_a_git_bundle_without_running_hooks(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A template directory is how hooks reach a fresh clone; ours must never see it.
    marker = tmp_path / "hook-ran"
    hooks = tmp_path / "template" / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "post-checkout").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (hooks / "post-checkout").chmod(0o755)
    monkeypatch.setenv("GIT_TEMPLATE_DIR", str(tmp_path / "template"))
    repo = repo_of(tree, tmp_path / "repo")
    out = tmp_path / "out"

    info = ingest(bundle_of(repo, tmp_path / "work.bundle"), out)

    assert not marker.exists()
    assert not (out / ".git" / "hooks" / "post-checkout").exists()
    assert git("config", "core.hooksPath", cwd=out).strip() == "/dev/null"
    assert git("log", "--format=%s", cwd=out).strip() == "work sample"
    assert git("status", "--porcelain", cwd=out) == ""
    assert info.sha256 == submission_sha256(tree)


def test_it_checks_out_the_first_branch_of_a_bundle_without_head(
    tree: Path, tmp_path: Path
) -> None:
    repo = repo_of(tree, tmp_path / "repo")
    git("switch", "--quiet", "--create", "feature", cwd=repo)
    (repo / "feature.py").write_text("FLAG = True\n")
    git("add", "feature.py", cwd=repo)
    git("commit", "--quiet", "--message=feature", cwd=repo)
    out = tmp_path / "out"
    ingest(bundle_of(repo, tmp_path / "feature.bundle", "feature"), out)
    assert (out / "feature.py").exists()


def test_it_refuses_an_incremental_bundle(tree: Path, tmp_path: Path) -> None:
    repo = repo_of(tree, tmp_path / "repo")
    (repo / "more.py").write_text("")
    git("add", "more.py", cwd=repo)
    git("commit", "--quiet", "--message=more", cwd=repo)
    source = bundle_of(repo, tmp_path / "inc.bundle", "main~1..main")
    assert_refused(source, tmp_path / "out", "git bundle create submission.bundle --all")


def test_it_refuses_a_bundle_larger_than_the_cap(tree: Path, tmp_path: Path) -> None:
    source = bundle_of(repo_of(tree, tmp_path / "repo"), tmp_path / "work.bundle")
    caps = IntakeCaps(max_bytes=100)
    assert_refused(source, tmp_path / "out", "is larger than 100 bytes", caps)


def test_it_refuses_a_bundle_whose_files_inflate_past_the_cap(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "zeros.bin").write_bytes(bytes(1024 * 1024 + 1))  # compresses to almost nothing
    repo = repo_of(repo, tmp_path / "git-repo")
    source = bundle_of(repo, tmp_path / "bomb.bundle")
    assert source.stat().st_size < 10_000
    assert_refused(source, tmp_path / "out", "'zeros.bin' is larger than the 1 MiB per-file cap")


def test_it_refuses_a_bundle_with_a_symlink_outside(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "passwd").symlink_to("/etc/passwd")
    source = bundle_of(repo_of(repo, tmp_path / "git-repo"), tmp_path / "link.bundle")
    assert_refused(source, tmp_path / "out", "symlink 'passwd' points to '/etc/passwd'")
