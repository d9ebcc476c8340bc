"""Finding and reading a submission's Python files, safely, on the host."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from proofwork.analysis.sources import (
    SourceFile,
    UnparsableSource,
    count_code_lines,
    has_python,
    is_test_path,
    parse,
    scan,
)


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_it_splits_sources_from_tests_by_folder_and_name(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/main.py": "x = 1\n",
            "app/contest.py": "x = 1\n",
            "tests/test_main.py": "",
            "app/tests/helpers.py": "",
            "app/test_utils.py": "",
            "app/utils_test.py": "",
            "conftest.py": "",
            "README.md": "# not python",
        },
    )
    tree = scan(tmp_path)
    assert [f.path for f in tree.sources] == ["app/contest.py", "app/main.py"]
    assert sorted(f.path for f in tree.tests) == [
        "app/test_utils.py",
        "app/tests/helpers.py",
        "app/utils_test.py",
        "conftest.py",
        "tests/test_main.py",
    ]


@pytest.mark.parametrize(
    "folder", [".git", ".venv", "venv", "build", "dist", "__pycache__", ".hidden", "node_modules"]
)
def test_it_skips_vcs_venv_build_and_hidden_folders(tmp_path: Path, folder: str) -> None:
    write(tmp_path, {f"{folder}/mod.py": "x = 1\n", "app.py": "y = 2\n"})
    assert [f.path for f in scan(tmp_path).sources] == ["app.py"]


def test_it_skips_a_virtualenv_by_its_marker_whatever_its_name(tmp_path: Path) -> None:
    write(tmp_path, {"env3/pyvenv.cfg": "home = /usr\n", "env3/lib/x.py": "", "app.py": ""})
    assert [f.path for f in scan(tmp_path).files] == ["app.py"]


def test_it_skips_large_files_with_a_note(tmp_path: Path) -> None:
    write(tmp_path, {"big.py": "x = 1\n" * 10, "small.py": "y = 2\n"})
    tree = scan(tmp_path, max_bytes=40)
    assert [f.path for f in tree.sources] == ["small.py"]
    assert tree.skipped == [("big.py", "over the 40-byte size limit")]


def test_it_counts_code_lines_not_blanks_or_comments() -> None:
    text = "# header\n\nx = 1  # trailing\n    # indented comment\n\ndef f():\n    return x\n"
    assert count_code_lines(text) == 3
    assert SourceFile("a.py", text, is_test=False).lines == 7


def test_it_reads_undecodable_bytes_leniently(tmp_path: Path) -> None:
    write(tmp_path, {"latin.py": b"\xef\xbb\xbfname = '\xe9t\xe9'\n"})
    (source,) = scan(tmp_path).sources
    assert source.text == "name = '\ufffdt\ufffd'\n"  # BOM dropped, bad bytes replaced
    parse(source)


def test_it_does_not_follow_symlinks_out_of_the_workspace(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, {"secret.py": "HOST = 'data'\n", "pkg/mod.py": "x = 1\n"})
    workspace = tmp_path / "workspace"
    write(workspace, {"app.py": "x = 1\n"})
    (workspace / "link.py").symlink_to(outside / "secret.py")
    (workspace / "linked_dir").symlink_to(outside / "pkg")
    tree = scan(workspace)
    assert [f.path for f in tree.files] == ["app.py"]
    assert tree.skipped == [("link.py", "not a regular file, or unreadable")]


def test_it_does_not_hang_on_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    tree = scan(tmp_path)
    assert tree.files == []
    assert [path for path, _ in tree.skipped] == ["pipe.py"]


def test_has_python_finds_one_file_and_ignores_others(tmp_path: Path) -> None:
    write(tmp_path, {"README.md": "", ".venv/lib/x.py": ""})
    assert not has_python(tmp_path)
    write(tmp_path, {"deep/down/mod.py": ""})
    assert has_python(tmp_path)


@pytest.mark.parametrize("text", ["def f(:\n", "x = 1\0\n", "x = (" * 300 + ")" * 300])
def test_parse_turns_every_failure_into_unparsable_source(text: str) -> None:
    with pytest.raises(UnparsableSource) as caught:
        parse(SourceFile("bad.py", text, is_test=False))
    assert caught.value.path == "bad.py"


def test_is_test_path_follows_pytest_conventions() -> None:
    assert is_test_path(PurePosixPath("test/x.py"))
    assert not is_test_path(PurePosixPath("testing/x.py"))
    assert not is_test_path(PurePosixPath("latest.py"))
