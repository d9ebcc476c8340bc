"""What the install phase asks pip for, and how its cache key keeps submissions apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from proofwork.dependencies import InstallRequest, Unit, plan, shipped_top_level

TOOLS = frozenset({"pytest", "coverage", "pytest-timeout", "pluggy"})


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_bare_folder_asks_for_nothing(tmp_path: Path) -> None:
    assert plan(write(tmp_path, {"lib.py": "x = 1\n"})).empty


def args(request: InstallRequest) -> list[tuple[str, ...]]:
    return [unit.args for unit in request.units]


@pytest.mark.parametrize(
    "name",
    [
        "requirements.txt",
        "dev.requirements.txt",
        "requirements-test.txt",
        "requirements/tests.txt",
        "test-requirements.txt",
        "tests/requirements.txt",
    ],
)
def test_requirement_files_are_found_by_their_usual_names(tmp_path: Path, name: str) -> None:
    request = plan(write(tmp_path, {name: "six\n"}))
    assert args(request) == [("-r", name)]


def test_a_dev_list_is_left_out_when_a_test_list_exists(tmp_path: Path) -> None:
    files = {"requirements-dev.txt": "sphinx\n", "requirements/tests.txt": "six\n"}
    assert args(plan(write(tmp_path, files))) == [("-r", "requirements/tests.txt")]


def test_requirements_on_the_graders_tools_are_set_aside_everywhere(tmp_path: Path) -> None:
    lock = (
        "iniconfig==2.0.0\n    # via pytest\npluggy==1.4.0 \\\n    --hash=sha256:abc\n"
        "pytest==8.1.1\n    # via -r requirements/tests.in\nsix==1.16.0\n"
    )
    request = plan(write(tmp_path, {"requirements/tests.txt": lock}), TOOLS)
    assert [(s.requirement, s.source) for s in request.set_aside] == [
        ("pluggy==1.4.0", "requirements/tests.txt"),
        ("pytest==8.1.1", "requirements/tests.txt"),
    ]
    written = request.files["requirements/tests.txt"]
    assert "\npytest==8.1.1" not in written and "# set aside by Proofwork" in written
    assert "six==1.16.0" in written and "iniconfig==2.0.0" in written
    assert request.units[0].requirements == ("iniconfig==2.0.0", "six==1.16.0")


def test_included_requirement_files_are_filtered_too(tmp_path: Path) -> None:
    files = {"requirements-test.txt": "-r base.txt\nmock\n", "base.txt": "pytest>=9\nsix\n"}
    request = plan(write(tmp_path, files), TOOLS)
    assert request.files["base.txt"].startswith("# set aside")
    assert request.units[0].requirements == ("six", "mock")


def test_docs_and_lint_requirement_files_are_left_out(tmp_path: Path) -> None:
    request = plan(
        write(tmp_path, {"requirements-docs.txt": "sphinx\n", "requirements/lint.txt": "ruff\n"})
    )
    assert request.empty


def test_a_pyproject_installs_the_project_and_its_test_extras_requirements(
    tmp_path: Path,
) -> None:
    pyproject = """
[project]
name = "p"
version = "1"
[project.optional-dependencies]
tests = ["freezegun", "pytest>=9", "p[speed]"]
speed = ["ujson"]
docs = ["sphinx"]
"""
    request = plan(write(tmp_path, {"pyproject.toml": pyproject}), TOOLS)
    assert request.build_project
    assert request.units == (
        Unit("the project", (".",)),
        Unit("extra tests", ("-r", ".proofwork-install/extra-tests.txt"), ("freezegun", "ujson")),
    )
    assert [s.requirement for s in request.set_aside] == ["pytest>=9"]


def test_dependency_groups_are_installed_with_their_included_groups(tmp_path: Path) -> None:
    pyproject = """
[dependency-groups]
typing = ["mypy"]
test = ["pytest==8.1.1", "hypothesis", {include-group = "coverage"}]
coverage = ["coverage[toml]>=7", "pytest-cov"]
dev = ["ruff", {include-group = "test"}]
"""
    request = plan(write(tmp_path, {"pyproject.toml": pyproject}), TOOLS)
    assert not request.build_project
    assert [(u.label, u.requirements) for u in request.units] == [
        ("group test", ("hypothesis", "pytest-cov"))
    ]
    assert [s.requirement for s in request.set_aside] == ["pytest==8.1.1", "coverage[toml]>=7"]


def test_tox_deps_are_used_when_nothing_else_declares_test_dependencies(tmp_path: Path) -> None:
    tox = "[tox]\nenvlist = py3\n[testenv]\ndeps =\n    pytest\n    freezegun\n    py38: mock\n"
    tox += "    -r{toxinidir}/requirements-extra.txt\ncommands = pytest\n"
    files = {"tox.ini": tox, "requirements-extra.txt": "six\n"}
    request = plan(write(tmp_path, files), TOOLS)
    assert [(u.label, u.requirements) for u in request.units] == [
        ("requirements-extra.txt", ("six",)),
        ("tox.ini deps", ("freezegun",)),
    ]
    files["requirements-test.txt"] = "attrs\n"
    request = plan(write(tmp_path, files), TOOLS)
    assert [u.label for u in request.units] == ["requirements-test.txt"]


def test_setup_py_projects_ask_for_the_usual_test_extras(tmp_path: Path) -> None:
    request = plan(write(tmp_path, {"setup.py": "from setuptools import setup\nsetup()\n"}))
    assert args(request) == [(".[test,tests,testing]",)]
    assert request.units[0].fallback == (".",)  # without the extras when they conflict


def test_a_broken_pyproject_does_not_stop_the_plan(tmp_path: Path) -> None:
    request = plan(write(tmp_path, {"pyproject.toml": "[project\n", "requirements.txt": "six\n"}))
    assert args(request) == [("-r", "requirements.txt")]


def test_the_cache_key_is_shared_only_when_no_submission_code_runs(tmp_path: Path) -> None:
    unit = (Unit("requirements.txt", ("-r", "requirements.txt")),)
    index_only = InstallRequest(units=unit, declarations={"r": "1"})
    builds = InstallRequest(units=(Unit("the project", (".",)),), build_project=True)
    local = InstallRequest(units=unit, local=True)

    def key(request: InstallRequest, sha: str) -> str:
        return request.key(submission_sha=sha, runtime="py", index_url=None)

    assert key(index_only, "a" * 64) == key(index_only, "b" * 64)
    assert key(builds, "a" * 64) != key(builds, "b" * 64)
    assert key(local, "a" * 64) != key(local, "b" * 64)


def test_local_paths_in_requirement_files_mark_the_request_local(tmp_path: Path) -> None:
    assert plan(write(tmp_path, {"requirements.txt": "-e .\n"})).local
    assert plan(write(tmp_path / "x", {"requirements.txt": "pkg @ file:///x\n"})).local
    assert not plan(write(tmp_path / "y", {"requirements.txt": "six==1.0  # pinned\n"})).local


def test_what_the_submissions_own_build_ships_is_read_from_its_record(tmp_path: Path) -> None:
    own = tmp_path / "flatpkg-0.3.0.dist-info"
    other = tmp_path / "six-1.17.0.dist-info"
    own.mkdir()
    other.mkdir()
    (own / "direct_url.json").write_text('{"dir_info": {}, "url": "file:///tmp/src"}')
    (own / "RECORD").write_text(
        "flatpkg/__init__.py,sha256=x,10\nflatpkg/data/rates.csv,,\n"
        "flatpkg-0.3.0.dist-info/RECORD,,\nbin/flatpkg,sha256=y,5\n"
    )
    (other / "RECORD").write_text("six.py,sha256=z,1\n")
    assert shipped_top_level(tmp_path) == {"flatpkg", "bin"}
    (own / "direct_url.json").write_text('{"url": "https://example.invalid/flatpkg.tar.gz"}')
    assert shipped_top_level(tmp_path) is None
