"""The static look at code that reaches into a test run: forgeries strong, honest hooks not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proofwork.integrity.scan import scan

FORGERIES = Path(__file__).parent.parent / "fixtures" / "forgeries"
STRONG = ["makereport_flip", "early_exit", "patch_grader", "pytest_internals", "sitecustomize"]
WEAK = ["deselect_failing", "silent_drop"]  # caught at run time, listed by the scan
# junit_overwrite hides every grader word from the scan: only the run-time checks catch it.


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("forgery", STRONG)
def test_a_forgery_is_a_strong_hit(forgery: str) -> None:
    hits = scan(FORGERIES / forgery)
    assert any(h.strong for h in hits), hits


@pytest.mark.parametrize("forgery", WEAK)
def test_removing_tests_in_a_hook_is_listed_but_not_held_against_the_suite(forgery: str) -> None:
    hits = scan(FORGERIES / forgery)
    assert hits
    assert not any(h.strong for h in hits)


def test_hooks_honest_suites_use_are_not_strong() -> None:
    assert [h for h in scan(FORGERIES / "honest_hooks") if h.strong] == []


def test_importing_pytest_internals_for_type_hints_is_no_hit(tmp_path: Path) -> None:
    root = _write(tmp_path, {"tests/conftest.py": "from _pytest.reports import TestReport\n"
                             "def pytest_runtest_logreport(report: TestReport) -> None:\n"
                             "    print(report.outcome)\n"})  # fmt: skip
    assert scan(root) == []


def test_a_plugin_module_outside_conftest_is_scanned_too(tmp_path: Path) -> None:
    root = _write(tmp_path, {"helpers/plug.py": "def pytest_runtest_logreport(report):\n"
                             "    report.outcome = 'passed'\n"})  # fmt: skip
    hits = scan(root)
    assert [(h.path, h.line, h.strong) for h in hits] == [("helpers/plug.py", 2, True)]
    assert "pytest_runtest_logreport" in hits[0].message


def test_setattr_on_an_outcome_and_force_result_are_strong(tmp_path: Path) -> None:
    root = _write(tmp_path, {"conftest.py": "import pytest\n"
        "@pytest.hookimpl(hookwrapper=True)\n"
        "def pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n"
        "    outcome.force_result(None)\n"
        "def pytest_runtest_logreport(report):\n"
        "    setattr(report, 'outcome', 'passed')\n"})  # fmt: skip
    assert [h.line for h in scan(root) if h.strong] == [5, 7]


def test_an_exit_from_an_atexit_handler_is_strong(tmp_path: Path) -> None:
    root = _write(tmp_path, {"conftest.py": "import atexit, os\n"
        "def bye():\n    os._exit(0)\n"
        "atexit.register(bye)\n"})  # fmt: skip
    assert [h.line for h in scan(root) if h.strong] == [3]


def test_a_pth_file_that_runs_code_is_listed(tmp_path: Path) -> None:
    root = _write(tmp_path, {"lib/evil.pth": "import proofwork_pytest; x = 1\n./plain\n"})
    hits = scan(root)
    assert [(h.path, h.line, h.strong) for h in hits] == [("lib/evil.pth", 1, True)]


def test_a_symlinked_conftest_is_never_followed(tmp_path: Path) -> None:
    outside = _write(tmp_path / "outside", {"conftest.py": "def pytest_x(r):\n    r.outcome = 1\n"})
    root = tmp_path / "root"
    root.mkdir()
    (root / "conftest.py").symlink_to(outside / "conftest.py")
    assert scan(root) == []
    shutil.rmtree(outside)


def test_outcomes_written_through_the_objects_namespace_are_strong(tmp_path: Path) -> None:
    root = _write(tmp_path, {"conftest.py": "def pytest_runtest_logreport(report):\n"
        "    report.__dict__['outcome'] = 'passed'\n"
        "    vars(report)['longrepr'] = None\n"
        "    object.__setattr__(report, 'outcome', 'passed')\n"})  # fmt: skip
    assert [h.line for h in scan(root) if h.strong] == [2, 3, 4]
