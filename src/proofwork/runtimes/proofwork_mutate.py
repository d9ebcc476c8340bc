"""Proofwork's mutation runner, run inside the sandbox on the base runtime (stdlib, pytest and
coverage.py only). Proofwork copies this file into the runtime's site-packages.

    python -m proofwork_mutate map OUT   # one instrumented run: which tests cover which lines
    python -m proofwork_mutate run OUT   # judge the planned mutants in one warm pytest session
    pytest -p proofwork_mutate --proofwork-map=OUT/map.json   # the map, from a run under coverage

`map` runs the suite once under coverage.py, switching coverage's dynamic context to each test's
node id as the test starts (so fixture setup counts for the test that needed it, and each
parametrized case is its own context), and writes OUT/map.json: per test its duration and
whether it passed, per source line the tests that ran it.

`run` reads OUT/plan.json, starts ONE pytest session that collects the needed test files once,
then forks a child per mutant. The child plants the mutant in memory: for code inside a function
it compiles the mutated top-level statement and swaps the `__code__` of the live function
objects (every reference to them sees the change, `from x import f` included); for module-level
code and class bodies it re-executes the mutated module in its own namespace and rebinds the
names other workspace modules imported from it; a module not yet imported is served mutated by
an import hook. The child then runs the mutant's covering tests, fastest first, through pytest's
own runtest protocol and stops at the first failure. The parent kills a child that outlives its
timeout. Results go to OUT/results.json, rewritten as they come in.
"""

from __future__ import annotations
import __future__

import ast
import bisect
import contextlib
import gc
import hashlib
import importlib.abc
import importlib.machinery
import json
import os
import select
import signal
import sys
import time
import types
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

WORKSPACE = "/workspace"
WRITE_EVERY_S = 2.0
BATCH_SAFETY = 0.9  # share of the estimated capacity the runner commits to
# The tests `proofwork_ledger` adds to the suite: never part of the map.
CANARIES = frozenset(os.environ.get("PROOFWORK_CANARY", "").split(",")[1:])
ASSERTION, EXCEPTION = "assertion", "exception"  # how a killed mutant was caught
# After a kill by exception, more of the mutant's tests run to find one that catches it by
# assertion: at most this many, taking at most this long as measured (fastest come first).
LOOK_FOR_ASSERTION = 8
LOOK_FOR_S = 0.2


# -- map ------------------------------------------------------------------------------------


class Recorder:
    """Pytest plugin: names coverage's context after each test, times it, and writes the map
    when the session ends (coverage is still measuring then, so its data is complete)."""

    def __init__(self, cov: Any, target: str) -> None:
        self.cov = cov
        self.target = target
        self.tests: list[list[Any]] = []
        self.index: dict[str, int] = {}
        self._ok = True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, object, object]:
        """Measure one test under its own coverage context (the grader's canaries apart)."""
        if item.name in CANARIES:
            return (yield)
        self.cov.switch_context(item.nodeid)
        self._ok = True
        started = time.perf_counter()
        try:
            return (yield)
        finally:
            self.index[item.nodeid] = len(self.tests)
            self.tests.append([item.nodeid, round(time.perf_counter() - started, 6), self._ok])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A test can only kill a mutant if it passes on the original code."""
        if report.failed or report.skipped:
            self._ok = False

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the map: per test its duration and whether it passed, per line its tests."""
        self.cov.switch_context("")
        data = self.cov.get_data()
        files: dict[str, dict[str, list[int]]] = {}
        for name in data.measured_files():
            relative = os.path.relpath(name, WORKSPACE) if os.path.isabs(name) else name
            files[relative] = {
                str(line): sorted({self.index[c] for c in contexts if c in self.index})
                for line, contexts in data.contexts_by_lineno(name).items()
            }
        _dump(self.target, {"exit": int(exitstatus), "tests": self.tests, "files": files})


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--proofwork-map=PATH`: record which tests cover which lines (needs coverage running)."""
    parser.addoption("--proofwork-map", default=None, help="write Proofwork's coverage map here")


def pytest_configure(config: pytest.Config) -> None:
    """With `-p proofwork_mutate --proofwork-map=PATH` in a run under coverage.py, record the
    map. The tests probe's own coverage run can carry it, so the suite runs instrumented once."""
    target = config.getoption("proofwork_map", default=None)
    if not target:
        return
    import coverage

    cov = coverage.Coverage.current()
    if cov is not None:
        config.pluginmanager.register(Recorder(cov, str(target)), "proofwork-map-recorder")


def map_main(out: str) -> int:
    """The instrumented run on its own: the suite under coverage.py, writing OUT/map.json."""
    import coverage

    plan = _load(f"{out}/map-plan.json")
    cov = coverage.Coverage(config_file=plan["rc"])
    args = [*plan["pytest_args"], "-p", "proofwork_mutate", f"--proofwork-map={out}/map.json"]
    cov.start()
    try:
        pytest.main(args)
    finally:
        cov.stop()
    return 0


# -- run ------------------------------------------------------------------------------------


@dataclass
class Job:
    """A forked child: judging a mutant, or a control run of one test on a re-executed module."""

    mutant: dict[str, Any]
    pid: int
    fd: int
    started: float
    timeout_s: float
    control: tuple[str, int] | None = None  # (path, test) when this job is a control
    buffer: bytes = b""


@dataclass
class State:
    results: dict[int, dict[str, Any]] = field(default_factory=dict)
    controls: dict[tuple[str, int], bool] = field(default_factory=dict)
    waiting: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    cutoff: int | None = None
    notes: list[str] = field(default_factory=list)
    skipped_extreme: int = 0


class MutationSession:
    """Pytest plugin: takes over the run loop and judges mutants in forked children."""

    def __init__(self, plan: dict[str, Any], out: str, started: float) -> None:
        self.plan = plan
        self.out = out
        self.deadline = started + float(plan["deadline_s"])
        self.tests: list[str] = plan["tests"]
        self.items: dict[str, pytest.Item] = {}
        self.state = State()
        self.sources: dict[str, str] = {}
        self.functions: dict[tuple[str, str, int], list[types.FunctionType]] = {}
        self.flags: dict[str, int] = {}
        self._failed = False
        self.failure = ""
        self.caught = ""
        self._last_write = 0.0

    # pytest hooks

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Remember every collected item by node id."""
        self.items = {item.nodeid: item for item in items}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """In a child: how the first failing phase failed (see `caught_by`)."""
        report = yield
        if report.failed and not self.caught:
            self.caught = caught_by(call.excinfo, self.sources)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """In a child: note any failed phase of the test being run."""
        if report.failed and not self._failed:
            self._failed = True
            lines = report.longreprtext.strip().splitlines()
            self.failure = f"{report.when}: {lines[-1] if lines else 'failed'}"[:300]

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        """Judge the mutants instead of running the suite."""
        self._prepare()
        Scheduler(self).run()
        self.write(final=True)
        return True

    # parent side

    def _prepare(self) -> None:
        for path, sha in self.plan["files"].items():
            full = f"{WORKSPACE}/{path}"
            try:
                with open(full, encoding="utf-8-sig", errors="replace", newline="") as handle:
                    text = handle.read()
            except OSError:
                continue
            if hashlib.sha256(text.encode()).hexdigest() == sha:
                self.sources[full] = text
                self.flags[full] = _future_flags(text)
            else:
                self.state.notes.append(f"{path} changed during the run; its mutants are errors")
        wanted = set(self.sources)
        for obj in gc.get_objects():
            if isinstance(obj, types.FunctionType) and obj.__code__.co_filename in wanted:
                code = obj.__code__
                key = (code.co_filename, code.co_qualname, code.co_firstlineno)
                self.functions.setdefault(key, []).append(obj)
        # Children share the parent's memory copy-on-write; a collection in a child would walk
        # (and so copy) every object the session holds. Frozen objects are never walked.
        gc.collect()
        gc.freeze()

    def write(self, final: bool = False) -> None:
        """Rewrite OUT/results.json (at most every couple of seconds unless final)."""
        now = time.monotonic()
        if not final and now - self._last_write < WRITE_EVERY_S:
            return
        self._last_write = now
        state = self.state
        data = {
            "results": state.results,
            "cutoff": state.cutoff,
            "collected": len(self.items),
            "notes": state.notes,
            "final": final,
        }
        _dump(f"{self.out}/results.json", data)

    # child side

    def judge(
        self, mutant: dict[str, Any], early: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        """In a child: plant the mutant and run its tests until one fails on an assertion.

        A test failing on an exception kills the mutant too, but a later test may pin the
        behaviour with an assertion: a few more quick tests run to find one (LOOK_FOR_*). The
        kill is sent `early` first, so a later test that hangs cannot take it away."""
        path = f"{WORKSPACE}/{mutant['path']}"
        if path not in self.sources:
            return {"status": "error", "detail": "source file changed or unreadable"}
        planted = Planter(self, path).plant(mutant)
        if isinstance(planted, dict):
            return planted
        tests: list[int] = mutant["tests"]
        kill: dict[str, Any] | None = None
        looked = 0.0  # measured seconds of the tests run after a kill by exception
        for position, index in enumerate(tests):
            if kill is not None:
                looked += float(self.plan["durations"][index])
                if position > kill["position"] + LOOK_FOR_ASSERTION or looked > LOOK_FOR_S:
                    break
            following = tests[position + 1] if position + 1 < len(tests) else None
            aborted = False
            try:
                failed = self.run_test(index, following)
            except BaseException as exc:  # noqa: BLE001 - e.g. KeyboardInterrupt: pytest would stop
                failed, self.failure = True, f"the test run was aborted: {type(exc).__name__}"
                self.caught, aborted = self.caught or EXCEPTION, True
            if not failed:
                continue
            caught = self.caught or EXCEPTION
            found = {"status": "killed", "by": index, "how": planted, "caught": caught}
            found["detail"] = self.failure
            if caught == ASSERTION or aborted:  # an aborted session runs nothing more
                return found if caught == ASSERTION or kill is None else kill
            if kill is None:
                kill = {**found, "position": position}
                early(found)
        return kill or {"status": "survived", "how": planted}

    def control(self, path: str, test: int) -> dict[str, Any]:
        """In a child: re-execute the original module, then run one test on it."""
        try:
            Planter(self, path).reexec(self.sources[path])
        except Exception as exc:  # noqa: BLE001 - candidate code: anything can be raised
            return {"status": "failed", "detail": f"{type(exc).__name__}: {exc}"[:300]}
        return {"status": "failed" if self.run_test(test) else "passed"}

    def run_test(self, index: int, following: int | None = None) -> bool:
        """Run one test through pytest's protocol; True when it failed."""
        item = self.items.get(self.tests[index])
        if item is None:
            return False
        after = self.items.get(self.tests[following]) if following is not None else None
        self._failed = False
        self.caught = ""
        # Tearing down only to what the next test shares keeps module and session fixtures up;
        # after the last test the child exits, so nothing beyond the test's own is torn down.
        item.ihook.pytest_runtest_protocol(item=item, nextitem=after or item)
        return self._failed


class Planter:
    """Plants one mutant in this (child) process."""

    def __init__(self, session: MutationSession, path: str) -> None:
        self.session = session
        self.path = path
        self.text = session.sources[path]

    def plant(self, mutant: dict[str, Any]) -> str | dict[str, Any]:
        """How the mutant was planted, or an error/killed result when it could not be."""
        start, end, replacement = mutant["start"], mutant["end"], mutant["replacement"]
        mutated = self.text[:start] + replacement + self.text[end:]
        if not self.modules():
            MutatedSource.install(self.path, mutated)
            return "import"
        if mutant["kind"] == "function" and self.swap(mutant, mutated):
            return "code"
        try:
            self.reexec(mutated)
        except Exception as exc:  # noqa: BLE001 - the mutated module fails to import
            return {"status": "reexec-failed", "detail": f"{type(exc).__name__}: {exc}"[:300]}
        return "reexec"

    def modules(self) -> list[types.ModuleType]:
        """Loaded modules whose file is this one (a module can be imported under two names)."""
        return [
            m
            for m in list(sys.modules.values())
            if isinstance(m, types.ModuleType) and getattr(m, "__file__", None) == self.path
        ]

    def swap(self, mutant: dict[str, Any], mutated: str) -> bool:
        """Give the live functions enclosing the mutant their mutated code; False if none."""
        first, last = mutant["chunk"]
        flags = self.session.flags[self.path]
        shift = len(mutant["replacement"]) - (mutant["end"] - mutant["start"])
        starts = _line_starts(self.text)
        before = self.text[starts[first - 1] : starts[last]]
        after = mutated[starts[first - 1] : starts[last] + shift]
        old: types.CodeType | None = _compile(before, first, self.path, flags)
        new: types.CodeType | None = _compile(after, first, self.path, flags)
        swapped = 0
        for kind, name, line in mutant["scopes"]:
            old, new = _child_code(old, name, line), _child_code(new, name, line)
            if old is None or new is None:
                return False
            if kind != "def":
                continue
            key = (self.path, old.co_qualname, old.co_firstlineno)
            for function in self.session.functions.get(key, []):
                if len(function.__closure__ or ()) != len(new.co_freevars):
                    return False
                function.__code__ = new
                swapped += 1
        return swapped > 0

    def reexec(self, source: str) -> None:
        """Run `source` as this module again, and point other modules at the new objects."""
        code = compile(source, self.path, "exec", dont_inherit=True)
        replaced: dict[int, object] = {}
        for module in self.modules():
            namespace = vars(module)
            before = dict(namespace)
            exec(code, namespace)  # noqa: S102 - the candidate's own module, in the sandbox
            for name, old in before.items():
                if name in namespace and namespace[name] is not old:
                    replaced[id(old)] = namespace[name]
        if replaced:
            _rebind(replaced, self.path)


def _rebind(replaced: dict[int, object], skip: str) -> None:
    for module in list(sys.modules.values()):
        origin = getattr(module, "__file__", None) or ""
        if not origin.startswith(WORKSPACE + "/") or origin == skip:
            continue
        namespace = vars(module)
        for name, value in list(namespace.items()):
            new = replaced.get(id(value))
            if new is not None:
                namespace[name] = new


class MutatedSource(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one file's mutated text when it is first imported (never writes a .pyc)."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source

    @classmethod
    def install(cls, path: str, source: str) -> None:
        """Put the hook first on sys.meta_path."""
        sys.meta_path.insert(0, cls(path, source))

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """The real spec, with this loader, when the module is the mutated file."""
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.origin != self.path:
            return None
        spec.loader = self
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        """Default module creation."""
        return

    def exec_module(self, module: types.ModuleType) -> None:
        """Execute the mutated text as the module."""
        code = compile(self.source, self.path, "exec", dont_inherit=True)
        exec(code, vars(module))  # noqa: S102 - the candidate's own module, in the sandbox


class Scheduler:
    """Runs jobs in children, a few at a time, within the deadline; decides the cut-off."""

    def __init__(self, session: MutationSession) -> None:
        self.session = session
        self.plan = session.plan
        self.state = session.state
        self.mutants: list[dict[str, Any]] = self.plan["mutants"]
        # The seeded sample's order, and apart the extreme mutants (negative ranks, one per
        # function, not in the sample), judged one for one with the sample's while in their time.
        self.pending: deque[dict[str, Any]] = deque(m for m in self.mutants if int(m["rank"]) >= 0)
        self.extremes: deque[dict[str, Any]] = deque(m for m in self.mutants if int(m["rank"]) < 0)
        self._turns = 0
        self.controls: deque[tuple[str, int]] = deque()
        self.running: dict[int, Job] = {}
        self.workers = max(1, int(self.plan.get("workers", 1)))
        self.batch = max(1, int(self.plan.get("first_batch", 16)))
        self.ladder: list[int] = self.plan["ladder"]
        self.total = int(self.plan["total"])
        # The sample being worked toward: everything until the first batch tells how long a
        # mutant takes, then the largest ladder step that fits in the time left.
        self.target = self.total
        self.started = time.monotonic()

    def run(self) -> None:
        """Until every mutant before the target is judged, or the deadline is near."""
        while self.controls or self.running or self._next_fits():
            if time.monotonic() >= self.session.deadline:
                self._stop_all()
                self.state.notes.append("stopped at the deadline")
                break
            self._launch()
            self._wait()
            self._decide()
            self.state.cutoff = self._reached()
            self.session.write()
        self.state.cutoff = self._reached()
        if self.state.skipped_extreme:
            skipped = self.state.skipped_extreme
            self.state.notes.append(f"{skipped} extreme mutants left unjudged: out of their time")

    def _next_fits(self) -> bool:
        return self._sample_fits() or self._extreme_due()

    def _sample_fits(self) -> bool:
        return bool(self.pending) and int(self.pending[0]["rank"]) < self.target

    def _extreme_due(self) -> bool:
        """Extreme mutants left, and still in their share of the time (after it, none starts:
        the sample needs the rest)."""
        share = float(self.plan.get("extreme_share", 1.0))
        late = time.monotonic() - self.started > share * (self.session.deadline - self.started)
        if self.extremes and late:
            self.state.skipped_extreme += len(self.extremes)
            self.extremes.clear()
        return bool(self.extremes)

    def _launch(self) -> None:
        while len(self.running) < self.workers and (self.controls or self._next_fits()):
            if self.controls:
                path, test = self.controls.popleft()
                timeout = 3 * float(self.plan["durations"][test]) + 1
                self._fork({"path": path, "rank": -1}, timeout, (path, test))
                continue
            self._turns += 1
            extreme = self._extreme_due() and (self._turns % 2 == 1 or not self._sample_fits())
            mutant = self.extremes.popleft() if extreme else self.pending.popleft()
            self._fork(mutant, float(mutant["timeout_s"]), None)

    def _fork(
        self, mutant: dict[str, Any], timeout_s: float, control: tuple[str, int] | None
    ) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child(self.session, mutant, control, write_fd)
        os.close(write_fd)
        with contextlib.suppress(OSError):  # the child already did it, or is gone
            os.setpgid(pid, pid)
        self.running[read_fd] = Job(mutant, pid, read_fd, time.monotonic(), timeout_s, control)

    def _wait(self) -> None:
        if not self.running:
            return
        now = time.monotonic()
        soonest = min(j.started + j.timeout_s for j in self.running.values())
        wait = max(0.0, min(soonest, self.session.deadline) - now)
        ready, _, _ = select.select(list(self.running), [], [], min(wait, 1.0))
        for fd in ready:
            job = self.running[fd]
            chunk = os.read(fd, 65536)
            if chunk:
                job.buffer += chunk
                continue
            self._reap(job, _message(job.buffer))
        now = time.monotonic()
        for job in list(self.running.values()):
            if now - job.started > job.timeout_s:
                _kill(job.pid)
                # A test that hung after another had already killed the mutant: still a kill.
                self._reap(job, _message(job.buffer) or {"status": "timeout"})

    def _reap(self, job: Job, message: dict[str, Any]) -> None:
        del self.running[job.fd]
        os.close(job.fd)
        _, status = os.waitpid(job.pid, 0)
        if not message:
            message = {
                "status": "killed",
                "caught": EXCEPTION,
                "detail": f"the test process died ({_exit_text(status)})",
            }
        message["s"] = round(time.monotonic() - job.started, 4)
        if job.control is not None:
            self._control_done(job.control, message.get("status") == "passed")
        else:
            self._mutant_done(job.mutant, message)

    def _mutant_done(self, mutant: dict[str, Any], message: dict[str, Any]) -> None:
        if message.get("status") == "reexec-failed":
            # The mutated module no longer imports: that breaks every test that imports it,
            # unless re-executing this module breaks tests anyway; a control run tells.
            killed = {"status": "killed", "by": mutant["tests"][0], "how": "reexec"}
            message = {**message, **killed, "caught": EXCEPTION}
        if message.get("status") == "killed" and message.get("how") == "reexec":
            key = (mutant["path"], int(message["by"]))
            known = self.state.controls.get(key)
            if known is None:
                self.state.waiting.setdefault(key, []).append({**mutant, "message": message})
                if len(self.state.waiting[key]) == 1:
                    self.controls.append((f"{WORKSPACE}/{key[0]}", key[1]))
                return
            message = message if known else _uncontrolled(message)
        self.state.results[int(mutant["id"])] = message

    def _control_done(self, control: tuple[str, int], passed: bool) -> None:
        key = (control[0][len(WORKSPACE) + 1 :], control[1])
        self.state.controls[key] = passed
        for waiting in self.state.waiting.pop(key, []):
            message = waiting.pop("message")
            self.state.results[int(waiting["id"])] = message if passed else _uncontrolled(message)

    def _decide(self) -> None:
        """Once the first batch is judged, and after every result: the largest ladder step
        whose unjudged mutants fit in the time left at the pace so far. Re-deciding as the
        pace settles uses the time to the end without overrunning it."""
        done = len(self.state.results)
        if done < min(self.batch, len(self.mutants)):
            return
        now = time.monotonic()
        pace = max((now - self.started) / done, 1e-6)
        affordable = (self.session.deadline - now) / pace * BATCH_SAFETY
        ranks = [int(m["rank"]) for m in self.pending]
        target = self.ladder[0]
        for step in self.ladder:
            needed = bisect.bisect_left(ranks, step)
            needed += min(needed, len(self.extremes))  # judged one for one with the sample's
            if needed + len(self.running) > affordable:
                break
            target = step
        self.target = target

    def _reached(self) -> int:
        """The sample actually judged: the ladder step below the first unjudged mutant (or
        every mutant); below the first step, however many there are."""
        results = self.state.results
        # Negative ranks (extreme mutants, judged first) are not part of the sample.
        ranks = ((int(m["rank"]), int(m["id"])) for m in self.mutants)
        unfinished = [rank for rank, ident in ranks if rank >= 0 and ident not in results]
        if not unfinished:
            return self.total
        return _floor_to(self.ladder, min(unfinished))

    def _stop_all(self) -> None:
        for job in list(self.running.values()):
            _kill(job.pid)
            del self.running[job.fd]
            os.close(job.fd)
            os.waitpid(job.pid, 0)
        self.pending.clear()
        self.extremes.clear()
        self.controls.clear()
        self.state.waiting.clear()


def _child(
    session: MutationSession, mutant: dict[str, Any], control: tuple[str, int] | None, fd: int
) -> None:
    message: dict[str, Any]
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if control is not None:
            message = session.control(*control)
        else:
            message = session.judge(mutant, lambda early: _send(fd, early))
    except BaseException as exc:  # noqa: BLE001 - whatever happens, the parent hears of it
        message = {"status": "error", "detail": f"{type(exc).__name__}: {exc}"[:300]}
    try:
        message.pop("position", None)
        _send(fd, message)
    finally:
        os._exit(0)


def _send(fd: int, message: dict[str, Any]) -> None:
    """One message a line; the parent keeps the last complete one."""
    os.write(fd, json.dumps(message).encode() + b"\n")


def caught_by(excinfo: pytest.ExceptionInfo[BaseException] | None, sources: Any) -> str:
    """How a failing test caught a mutant: ASSERTION when a check of the test failed (an
    `assert`, a unittest or mock `assert*`, `pytest.fail`, `pytest.raises`/`warns` that got
    nothing: "DID NOT RAISE"), EXCEPTION when the code blew up in a way the test did not expect.
    An AssertionError raised by the code under test itself is the code blowing up."""
    if excinfo is None or not isinstance(excinfo.value, AssertionError | pytest.fail.Exception):
        return EXCEPTION
    tb = excinfo.tb
    while tb.tb_next is not None:
        tb = tb.tb_next
    return EXCEPTION if tb.tb_frame.f_code.co_filename in sources else ASSERTION


def _uncontrolled(message: dict[str, Any]) -> dict[str, Any]:
    detail = "re-executing this module makes the killing test fail even unmutated"
    return {**message, "status": "error", "detail": detail}


def _floor_to(ladder: list[int], value: int) -> int:
    """The largest sample size on the ladder within `value`; below the first, `value` itself
    (a small sample with a wide interval says more than none)."""
    fitting = [step for step in ladder if step <= value]
    return fitting[-1] if fitting else value


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _message(raw: bytes) -> dict[str, Any]:
    """The last complete message a child sent (an early kill, then maybe a better one)."""
    lines = [line for line in raw.split(b"\n")[:-1] if line.strip()]
    if not lines:
        return {}
    try:
        data = json.loads(lines[-1].decode("utf-8", errors="replace"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _exit_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _future_flags(text: str) -> int:
    flags = 0
    try:
        body = ast.parse(text).body
    except (SyntaxError, ValueError, RecursionError):
        return 0
    for stmt in body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            for alias in stmt.names:
                flags |= getattr(getattr(__future__, alias.name, None), "compiler_flag", 0)
    return flags


def _compile(chunk: str, first: int, path: str, flags: int) -> types.CodeType:
    padded = "\n" * (first - 1) + chunk
    code: types.CodeType = compile(padded, path, "exec", flags=flags, dont_inherit=True)
    return code


def _child_code(code: types.CodeType | None, name: str, line: int) -> types.CodeType | None:
    if code is None:
        return None
    found = [c for c in code.co_consts if isinstance(c, types.CodeType) and c.co_name == name]
    exact = [c for c in found if c.co_firstlineno == line]
    if exact:
        return exact[0]
    return found[0] if len(found) == 1 else None


def run_main(out: str) -> int:
    """Judge the planned mutants: write OUT/results.json."""
    started = time.monotonic()
    plan = _load(f"{out}/plan.json")
    session = MutationSession(plan, out, started)
    files = sorted({nodeid.split("::", 1)[0] for nodeid in plan["tests"]})
    args = [*plan["pytest_args"], f"--rootdir={WORKSPACE}", *files]
    code = int(pytest.main(args, plugins=[session]))
    if not os.path.exists(f"{out}/results.json"):
        session.state.notes.append(f"pytest ended before judging (exit code {code})")
        session.write(final=True)
    return 0


def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: not a JSON object")
    return data


def _dump(path: str, data: object) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


def main(argv: list[str]) -> int:
    """Entry point: `map OUT` or `run OUT`."""
    if len(argv) != 3 or argv[1] not in ("map", "run"):
        print("usage: python -m proofwork_mutate map|run OUT", file=sys.stderr)
        return 2
    return map_main(argv[2]) if argv[1] == "map" else run_main(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
