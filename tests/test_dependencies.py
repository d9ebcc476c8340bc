"""What the install phase asks pip for, and how its cache key keeps submissions apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from proofwork.dependencies import InstallRequest, plan


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_bare_folder_asks_for_nothing(tmp_path: Path) -> None:
    assert plan(write(tmp_path, {"lib.py": "x = 1\n"})).empty


@pytest.mark.parametrize(
    "name",
    ["requirements.txt", "dev.requirements.txt", "requirements-test.txt", "requirements/tests.txt"],
)
def test_requirement_files_are_found_by_their_usual_names(tmp_path: Path, name: str) -> None:
    request = plan(write(tmp_path, {name: "six\n"}))
    assert request.requirement_files == (name,)
    assert ["-r", name] in request.units()


def test_docs_and_lint_requirement_files_are_left_out(tmp_path: Path) -> None:
    request = plan(
        write(tmp_path, {"requirements-docs.txt": "sphinx\n", "requirements/lint.txt": "ruff\n"})
    )
    assert request.empty


def test_a_pyproject_builds_the_project_with_its_test_extras_and_groups(tmp_path: Path) -> None:
    pyproject = """
[project]
name = "p"
version = "1"
[project.optional-dependencies]
test = ["pytest"]
docs = ["sphinx"]
[dependency-groups]
dev = ["ruff"]
"""
    request = plan(write(tmp_path, {"pyproject.toml": pyproject}))
    assert request.build_project
    assert request.units() == [[".[test]"], ["--group", "pyproject.toml:dev"]]


def test_setup_py_projects_ask_for_the_usual_test_extras(tmp_path: Path) -> None:
    request = plan(write(tmp_path, {"setup.py": "from setuptools import setup\nsetup()\n"}))
    assert request.units() == [[".[test,tests,testing]"]]


def test_a_broken_pyproject_does_not_stop_the_plan(tmp_path: Path) -> None:
    request = plan(write(tmp_path, {"pyproject.toml": "[project\n", "requirements.txt": "six\n"}))
    assert request.requirement_files == ("requirements.txt",)


def test_the_cache_key_is_shared_only_when_no_submission_code_runs(tmp_path: Path) -> None:
    index_only = InstallRequest(requirement_files=("requirements.txt",), declarations={"r": "1"})
    builds = InstallRequest(build_project=True, declarations={"r": "1"})
    local = InstallRequest(requirement_files=("requirements.txt",), local=True)

    def key(request: InstallRequest, sha: str) -> str:
        return request.key(submission_sha=sha, runtime="py", index_url=None)

    assert key(index_only, "a" * 64) == key(index_only, "b" * 64)
    assert key(builds, "a" * 64) != key(builds, "b" * 64)
    assert key(local, "a" * 64) != key(local, "b" * 64)


def test_local_paths_in_requirement_files_mark_the_request_local(tmp_path: Path) -> None:
    assert plan(write(tmp_path, {"requirements.txt": "-e .\n"})).local
    assert plan(write(tmp_path / "x", {"requirements.txt": "pkg @ file:///x\n"})).local
    assert not plan(write(tmp_path / "y", {"requirements.txt": "six==1.0  # pinned\n"})).local
