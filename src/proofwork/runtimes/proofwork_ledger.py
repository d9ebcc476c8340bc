"""Proofwork's witness inside a submission's test run (`-p proofwork_ledger`), on the base runtime.

Everything a test process says about itself can be rewritten by the code it runs, so the grader
does not take the JUnit file's word alone. This plugin keeps its own ledger of the run and
Proofwork cross-checks it against the results files and the exit status (see
`proofwork.integrity`):

- canaries: two tests the grader adds to the suite (unguessable names, given in
  PROOFWORK_CANARY as `module,failing,passing`), placed among the candidate's tests in one of
  their test folders so that their conftest hooks apply; one must be reported failed, the
  other passed;
- what was collected, what pytest's own code or the suite's code deselected (and where from),
  what silently vanished before running, and each test's outcome as the reports said;
- whether the session reached its end, pytest's own exit status, the hashes of the results
  files right after pytest wrote them;
- whether pytest's reporting functions and Proofwork's plugins are still the code they were
  loaded as (a monkeypatch from a conftest shows as code from another file).

The ledger goes to PROOFWORK_LEDGER: once after collection, again when the session ends. With
PROOFWORK_KEEP naming a file of node ids, those tests are put back into the run after the
suite's own collection hooks ran (the grader re-runs tests the suite kept out of its run).
"""

from __future__ import annotations

import hashlib
import json
import linecache
import os
import secrets
import sys
import sysconfig
import types
from collections.abc import Generator
from typing import Any

import _pytest
import pytest

FAILING_MESSAGE = "proofwork canary"
# Functions whose code must still come from where pytest or Proofwork installed them.
WATCHED = (
    ("_pytest.runner", "call_and_report"),
    ("_pytest.runner", "runtestprotocol"),
    ("_pytest.runner", "pytest_runtest_makereport"),
    ("_pytest.runner", "CallInfo.from_call"),
    ("_pytest.reports", "TestReport.from_item_and_call"),
    ("_pytest.reports", "TestReport.__init__"),
    ("_pytest.reports", "BaseReport.passed"),
    ("_pytest.reports", "BaseReport.failed"),
    ("_pytest.reports", "BaseReport.skipped"),
    ("_pytest.skipping", "pytest_runtest_makereport"),
    ("_pytest.main", "pytest_runtestloop"),
    ("_pytest.main", "Session.pytest_runtest_logreport"),
    ("_pytest.main", "wrap_session"),
    ("_pytest.junitxml", "LogXML.pytest_runtest_logreport"),
    ("_pytest.junitxml", "LogXML.pytest_sessionfinish"),
    ("_pytest.junitxml", "_NodeReporter.append_failure"),
    ("_pytest.junitxml", "_NodeReporter.to_xml"),
    ("_pytest.terminal", "TerminalReporter.pytest_runtest_logreport"),
    ("proofwork_pytest", "pytest_runtest_logreport"),
    ("proofwork_pytest", "pytest_sessionfinish"),
    ("proofwork_pytest", "_entry"),
    ("proofwork_mutate", "Recorder.pytest_sessionfinish"),
    ("proofwork_mutate", "MutationSession.write"),
    ("proofwork_mutate", "_dump"),
    ("proofwork_ledger", "Witness.pytest_runtest_logreport"),
    ("proofwork_ledger", "Witness.write"),
    ("proofwork_ledger", "_record"),
)
GRADER_MODULES = ("proofwork_pytest", "proofwork_mutate", "proofwork_ledger")
HOOKS_OF_INTEREST = (
    "pytest_runtest_makereport",
    "pytest_report_teststatus",
    "pytest_runtest_logreport",
    "pytest_collection_modifyitems",
    "pytest_make_collect_report",
    "pytest_collectreport",
    "pytest_runtestloop",
    "pytest_runtest_protocol",
    "pytest_sessionfinish",
    "pytest_unconfigure",
)
HERE = os.path.dirname(os.path.abspath(__file__))
PYTEST_DIR = os.path.dirname(os.path.abspath(_pytest.__file__))
RUNTIME_DIR = sysconfig.get_paths()["purelib"]
# The read-only runtime's own packages (pytest, its plugins there) may wrap pytest's functions.
TRUSTED_DIRS = (PYTEST_DIR, RUNTIME_DIR)


def _record(tally: dict[str, str], report: Any) -> None:
    """The worst outcome of a test's phases, counted the way the JUnit writer counts it."""
    previous = tally.get(report.nodeid)
    if report.failed:
        if previous not in ("failed", "error"):
            tally[report.nodeid] = "failed" if report.when == "call" else "error"
    elif report.skipped and previous is None:
        tally[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed and previous is None:
        tally[report.nodeid] = "passed"


def _caller() -> str:
    """Where the code that called the current hook lives (past pluggy's own frames)."""
    frame: types.FrameType | None = sys._getframe(2)
    while frame is not None and "pluggy" in frame.f_code.co_filename:
        frame = frame.f_back
    if frame is None:
        return "unknown"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _resolve(module: str, dotted: str) -> Any:
    target: Any = sys.modules.get(module)
    for part in dotted.split("."):
        if target is None:
            return None
        target = inspect_attr(target, part)
    return target


def inspect_attr(owner: Any, name: str) -> Any:
    """An attribute without running descriptors (a property stays a property)."""
    if isinstance(owner, type):
        for klass in owner.__mro__:
            if name in vars(klass):
                return vars(klass)[name]
        return None
    return getattr(owner, name, None)


def _code_file(obj: Any) -> str | None:
    for attribute in ("fget", "__func__", "__wrapped__"):
        inner = getattr(obj, attribute, None)
        if inner is not None and not isinstance(obj, types.FunctionType):
            obj = inner
    code = getattr(obj, "__code__", None)
    return os.path.abspath(code.co_filename) if code is not None else None


def changed_functions() -> list[str]:
    """Watched functions whose code now comes from another file than their module's."""
    changed = []
    for module, dotted in WATCHED:
        loaded = sys.modules.get(module)
        if loaded is None:
            continue
        home = os.path.abspath(getattr(loaded, "__file__", "") or "")
        obj = _resolve(module, dotted)
        where = _code_file(obj) if obj is not None else None
        if obj is None:
            changed.append(f"{module}.{dotted} is gone")
        elif where is not None and where != home and not where.startswith(TRUSTED_DIRS):
            changed.append(f"{module}.{dotted} now runs code from {where}")
    return changed


def foreign_grader_modules() -> list[str]:
    """Proofwork's plugins loaded from anywhere but the runtime that installed them."""
    found = []
    for name in GRADER_MODULES:
        module = sys.modules.get(name)
        where = os.path.abspath(getattr(module, "__file__", "") or "") if module else ""
        if module is not None and os.path.dirname(where) != HERE:
            found.append(f"{name} was loaded from {where or 'nowhere (a fake module)'}")
    return found


def _sha256(path: str | None) -> str | None:
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


class Module(pytest.Module):
    """A test module that exists only in memory, placed in one of the suite's test folders
    (the hooks of that folder's conftest files apply to it as to its neighbours)."""

    source = ""

    @property
    def ihook(self) -> Any:
        """The hooks of the folder it sits in (pytest would look for a folder of its name)."""
        return self.session.gethookproxy(self.path.parent)

    def _getobj(self) -> types.ModuleType:
        module = types.ModuleType(self.path.stem)
        module.__file__ = str(self.path)
        exec(compile(self.source, str(self.path), "exec"), vars(module))  # noqa: S102
        return module


class Function(pytest.Function):
    """A canary test: an ordinary test function in the in-memory module."""

    @property
    def ihook(self) -> Any:
        """The hooks of the folder its module sits in."""
        return self.session.gethookproxy(self.path.parent)


def canary_source(failing: str, passing: str) -> str:
    """Two tests: one that must fail, one that must pass."""
    return (
        f"def {failing}():\n"
        f"    assert {len(failing)} == {len(passing) + 1}, {FAILING_MESSAGE!r}\n\n\n"
        f"def {passing}():\n"
        f"    assert {len(failing)} == {len(passing)}\n"
    )


class Witness:
    """The ledger's keeper (a pytest plugin object)."""

    def __init__(self, config: pytest.Config, target: str) -> None:
        self.config = config
        self.target = target
        names = [n for n in os.environ.get("PROOFWORK_CANARY", "").split(",") if n]
        self.canary = names if len(names) == 3 else []
        self.keep = self._keep()
        self.ledger: dict[str, Any] = {
            "version": 1,
            "pid": os.getpid(),
            "canary": {},
            "canary_nodeids": [],
            "canary_roles": {},
            "collected": 0,
            "selected": 0,
            "deselected": [],
            "dropped": [],
            "restored": [],
            "tally": {},
            "finished": False,
            "exitstatus": None,
            "stopped_early": None,
            "changed": [],
            "foreign": foreign_grader_modules(),
            "hooks": [],
            "hashes": {},
        }
        self.tally: dict[str, str] = {}
        self.canary_ids: set[str] = set()
        self.collected: list[pytest.Item] = []

    def _keep(self) -> set[str]:
        path = os.environ.get("PROOFWORK_KEEP")
        if not path:
            return set()
        try:
            with open(path, encoding="utf-8") as handle:
                return {str(n) for n in json.load(handle)}
        except (OSError, ValueError):
            return set()

    # collection

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        """Add the canaries among the suite's tests, then see what the suite's hooks did."""
        self.collected = list(items)
        self._add_canaries(items)
        try:
            return (yield)
        finally:
            self._after_collection(items)

    def _add_canaries(self, items: list[pytest.Item]) -> None:
        if not self.canary or not items or self._distributed():
            return
        host = secrets.choice([i for i in items if isinstance(i.parent, pytest.Module)] or items)
        module_node = host.parent if isinstance(host.parent, pytest.Module) else None
        folder = module_node.parent if module_node is not None else None
        if folder is None:
            return
        name, failing, passing = self.canary
        path = module_node.path.parent / f"test_{name}.py"  # type: ignore[union-attr]
        source = canary_source(failing, passing)
        linecache.cache[str(path)] = (len(source), None, source.splitlines(True), str(path))
        module = Module.from_parent(folder, path=path)
        module.source = source
        # Where a failure stops the run (-x, --maxfail), the failing canary goes last.
        stops = bool(getattr(self.config.option, "maxfail", 0))
        for role, test in (("passing", passing), ("failing", failing)):
            item = Function.from_parent(module, name=test, callobj=getattr(module.obj, test))
            self.canary_ids.add(item.nodeid)
            self.ledger["canary_roles"][item.nodeid] = role
            spot = len(items) if stops else secrets.randbelow(len(items) + 1)
            items.insert(spot, item)
        self.ledger["canary_nodeids"] = sorted(self.canary_ids)

    def _distributed(self) -> bool:
        return bool(getattr(self.config.option, "numprocesses", None))

    def _after_collection(self, items: list[pytest.Item]) -> None:
        if self.keep:
            present = {i.nodeid for i in items}
            back = [i for i in self.collected if i.nodeid in self.keep and i.nodeid not in present]
            items.extend(back)
            self.ledger["restored"] = [i.nodeid for i in back]
        kept = {i.nodeid for i in items}
        deselected = {d["nodeid"] for d in self.ledger["deselected"]}
        self.ledger["collected"] = sum(i.nodeid not in self.canary_ids for i in self.collected)
        self.ledger["selected"] = sum(i.nodeid not in self.canary_ids for i in items)
        self.ledger["dropped"] = [
            i.nodeid
            for i in self.collected
            if i.nodeid not in kept and i.nodeid not in deselected and i.nodeid not in self.keep
        ][:1000]
        self.ledger["hooks"] = self._hooks()
        self.write()

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Who deselected which tests (pytest's -k/-m/--deselect, or the suite's own code)."""
        by = _caller()
        for item in items[:1000]:
            self.ledger["deselected"].append({"nodeid": item.nodeid, "by": by})

    def _hooks(self) -> list[dict[str, str]]:
        found = []
        for hook in HOOKS_OF_INTEREST:
            caller = getattr(self.config.hook, hook, None)
            for impl in caller.get_hookimpls() if caller is not None else []:
                where = _code_file(impl.function) or ""
                if where.startswith(TRUSTED_DIRS):
                    continue
                found.append({"hook": hook, "where": where})
        return found

    # running

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Collection errors and skips are test cases of the JUnit file too."""
        if report.failed:
            self.tally[report.nodeid] = "error"
        elif report.skipped:
            self.tally.setdefault(report.nodeid, "skipped")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Each test's outcome as the reports say (canaries apart)."""
        if report.nodeid in self.canary_ids:
            _record(self.ledger["canary"], report)
        else:
            _record(self.tally, report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """The end of the session: pytest's own status, and the results files as written."""
        self.ledger["finished"] = True
        self.ledger["exitstatus"] = int(exitstatus)
        self.ledger["stopped_early"] = str(session.shouldstop or session.shouldfail or "") or None
        self.ledger["hashes"] = {
            "junit": _sha256(getattr(self.config.option, "xmlpath", None)),
            "outcomes": _sha256(os.environ.get("PROOFWORK_OUTCOMES")),
        }
        self.write()

    def write(self) -> None:
        """Write the ledger (whole, replacing the previous one)."""
        self.ledger["tally"] = dict(self.tally)
        self.ledger["changed"] = changed_functions()
        self.ledger["foreign"] = sorted(set(self.ledger["foreign"]) | set(foreign_grader_modules()))
        temporary = f"{self.target}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.ledger, handle)
        os.replace(temporary, self.target)


def pytest_configure(config: pytest.Config) -> None:
    """Keep a ledger when Proofwork asked for one."""
    target = os.environ.get("PROOFWORK_LEDGER")
    if target:
        config.pluginmanager.register(Witness(config, target), "proofwork-witness")
