"""Pytest plugin that Proofwork loads into a submission's test run (`-p proofwork_pytest`).

It accepts pytest-cov's command-line options, because Proofwork measures coverage itself and
blocks pytest-cov, while many projects put `--cov` in their addopts; it records each test's
outcome under its exact node id so that failures can be re-run to tell flaky tests apart, and
the counts of pytest's own summary line (subtests apart); and it bounds the time a test or the
import of a test module may take, so one hanging test never costs the rest of the suite.

Time limits use SIGALRM in the main thread: the timed-out test (or module) fails with the stack
it was stuck in and the session goes on. Processes a timed-out test started are stopped and
killed (a fork bomb would otherwise hold every process slot for the rest of the run).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import time
from collections.abc import Generator
from typing import Any

import pytest

COV_FLAGS = ("--no-cov-on-fail", "--no-cov", "--cov-append", "--cov-branch")
COV_VALUES = (
    "--cov-report",
    "--cov-config",
    "--cov-fail-under",
    "--cov-precision",
    "--cov-context",
)
TIMEOUT_MESSAGE = "Timeout: stopped after {seconds:g}s (Proofwork's per-test time limit)"
# pytest's summary categories, as its terminal reporter counts them.
SUMMARY_KEYS = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "subtests passed")

QUIET_SCANS = 3  # scans of /proc in a row finding no new process before we trust it
MAX_SCANS = 5000
RETRY_S = 0.2
FORK = os.fork

_outcomes: dict[str, dict[str, Any]] = {}


class CollectionTimeout(Exception):
    """A test module took longer to import than Proofwork's collection time limit."""


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register pytest-cov's options as no-ops (pytest-cov itself is blocked), and ours."""
    group = parser.getgroup("proofwork", "accepted for pytest-cov compatibility")
    group.addoption("--cov", action="append", nargs="?", const=True, default=[], dest="pw_cov")
    for flag in COV_FLAGS:
        group.addoption(flag, action="store_true", dest="pw_" + flag.strip("-").replace("-", "_"))
    for option in COV_VALUES:
        group.addoption(
            option, action="append", default=[], dest="pw_" + option.strip("-").replace("-", "_")
        )
    group.addoption("--proofwork-test-timeout", type=float, default=0.0, dest="pw_test_timeout")
    group.addoption(
        "--proofwork-collect-timeout", type=float, default=0.0, dest="pw_collect_timeout"
    )


def _entry(report: pytest.TestReport | pytest.CollectReport, outcome: str) -> dict[str, Any]:
    path, line = _place(report)
    entry: dict[str, Any] = {"outcome": outcome, "path": path, "line": line}
    if outcome in ("failed", "error"):
        entry["message"] = report.longreprtext[-4000:]
    return entry


def _place(report: pytest.TestReport | pytest.CollectReport) -> tuple[str, int | None]:
    if isinstance(report, pytest.TestReport):
        path, line, _ = report.location
        return path, None if line is None else line + 1
    return report.nodeid.split("::", 1)[0], None


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember the worst outcome of each test's phases, with its place and message."""
    previous = _outcomes.get(report.nodeid, {}).get("outcome")
    if report.failed:
        if previous not in ("failed", "error"):
            outcome = "error" if report.when != "call" else "failed"
            _outcomes[report.nodeid] = {
                **_outcomes.get(report.nodeid, {}),
                **_entry(report, outcome),
            }
        if _timer.fired == report.nodeid:
            _outcomes[report.nodeid]["timeout"] = True
    elif report.skipped and previous is None:
        _outcomes[report.nodeid] = _entry(report, "skipped")
    elif report.when == "call" and previous is None:
        _outcomes[report.nodeid] = _entry(report, "passed")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module that could not be collected (import error, collection timeout) is an error."""
    if report.failed:
        entry = {**_outcomes.get(report.nodeid, {}), **_entry(report, "error"), "collect": True}
        _outcomes[report.nodeid] = entry
        if _timer.fired == report.nodeid:
            _outcomes[report.nodeid]["timeout"] = True


class Timer:
    """One SIGALRM deadline at a time, for a test or for importing one test module."""

    def __init__(self) -> None:
        self.current = ""  # node id being timed
        self.fired = ""  # node id whose deadline passed
        self.in_phase = False  # running a test's own setup, call or teardown code
        self.handling = False  # an alarm is being handled
        self.seconds = 0.0  # the limit in force (a project's shorter one may replace ours)

    @contextlib.contextmanager
    def limit(
        self, nodeid: str, seconds: float, raiser: Any, retry_s: float = 0.0
    ) -> Generator[None]:
        """If the block outlives `seconds`: stop the processes it started, then raise
        `raiser(seconds)` in the main thread, where the block is stuck. With `retry_s`, raise
        again that often until a test phase ends: Python drops an exception raised while it
        runs `os.fork`'s at-fork callbacks, which a fork loop spends much of its time in."""
        if seconds <= 0:
            yield
            return
        before = _processes()

        def alarm(signum: int, frame: Any) -> None:
            __tracebackhide__ = True
            if self.handling:
                return  # a retry came while the first alarm is still stopping processes
            self.fired = nodeid
            applied = self.seconds
            # First, while a fork bomb still holds every process slot and the CPU: nothing
            # else (the failure report included) could get done before.
            self.handling = True
            try:
                killed = _stop_new_processes(before)
            finally:
                self.handling = False
            entry = _outcomes.setdefault(nodeid, {})
            entry["limit_s"] = applied
            if killed:
                entry["killed_processes"] = entry.get("killed_processes", 0) + killed
            if retry_s and not self.in_phase:
                return  # between phases, in pytest's own code: the next phase will stop
            if retry_s:
                # A signal that arrives during fork() is handled in an at-fork callback, which
                # drops the exception: a fork loop gets it from its next os.fork() instead.
                os.fork = functools.partial(raiser, applied)
            raiser(applied)

        previous = signal.signal(signal.SIGALRM, alarm)
        self.current = nodeid
        self.seconds = seconds
        signal.setitimer(signal.ITIMER_REAL, seconds, retry_s)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            self.current = ""

    @contextlib.contextmanager
    def phase(self) -> Generator[None]:
        """A test phase: once one ended after the deadline, the test has failed as a
        timeout and the retries stop."""
        self.in_phase = True
        try:
            yield
        finally:
            self.in_phase = False
            if self.current and self.fired == self.current:
                signal.setitimer(signal.ITIMER_REAL, 0)
                os.fork = FORK

    def shorten(self, seconds: float) -> None:
        """Bring the running deadline forward (a project's own shorter timeout)."""
        remaining, interval = signal.getitimer(signal.ITIMER_REAL)
        if self.current and 0 < seconds < remaining:
            self.seconds = seconds
            signal.setitimer(signal.ITIMER_REAL, seconds, interval)


_timer = Timer()


def _fail_test(seconds: float) -> None:
    __tracebackhide__ = True
    pytest.fail(TIMEOUT_MESSAGE.format(seconds=seconds))


def _fail_collection(seconds: float) -> None:
    raise CollectionTimeout(f"importing this module took longer than {seconds:g}s")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Run each test (setup, call, teardown) under the per-test time limit."""
    seconds = float(item.config.getoption("pw_test_timeout") or 0)
    with _timer.limit(item.nodeid, seconds, _fail_test, retry_s=RETRY_S):
        return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """The test's fixtures being set up: a timeout may be raised here."""
    with _timer.phase():
        return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """The test itself: a timeout may be raised here."""
    with _timer.phase():
        return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """The test's fixtures being torn down: a timeout may be raised here."""
    with _timer.phase():
        return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, object, object]:
    """Import each test module under the collection time limit (a hang becomes its error)."""
    # Modules only: that is where imports happen, and they never nest inside one another.
    seconds = float(collector.config.getoption("pw_collect_timeout") or 0)
    if not isinstance(collector, pytest.Module):
        seconds = 0
    with _timer.limit(collector.nodeid, seconds, _fail_collection):
        return (yield)


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout asks for a timer: its (the project's) limit holds when it is shorter,
    ours when it is longer or uses a method that would end the whole session."""
    if not item.config.getoption("pw_test_timeout"):
        return None
    _timer.shorten(float(settings.timeout or 0))
    return True


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool | None:
    """Our timer is cancelled when the test's protocol ends."""
    return True if item.config.getoption("pw_test_timeout") else None


def _processes() -> set[int]:
    try:
        return {int(name) for name in os.listdir("/proc") if name.isdigit()}
    except OSError:
        return set()


def _stop_new_processes(before: set[int]) -> int:
    """Stop, then kill, every process started since `before`; returns how many there were.

    SIGSTOP first, scanning until a few scans in a row find nothing new: a stopped process
    cannot fork again, so a fork bomb cannot refill the slots being freed. A process caught in
    the middle of a fork still creates its child, which the next scans catch.
    """
    keep = before | {os.getpid()}
    seen: set[int] = set()
    for send in (signal.SIGSTOP, signal.SIGKILL):
        for pid in seen:
            with contextlib.suppress(OSError):
                os.kill(pid, send)
        quiet = rounds = 0
        while quiet < QUIET_SCANS and rounds < MAX_SCANS:
            rounds += 1
            fresh = _processes() - keep - seen
            for pid in fresh:
                with contextlib.suppress(OSError):
                    os.kill(pid, send)
            seen |= fresh
            quiet = 0 if fresh else quiet + 1
            if not fresh:
                time.sleep(0.005)
    for pid in seen:  # reap our own children (zombies hold process slots too)
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
    return len(seen)


def _summary(session: pytest.Session) -> dict[str, int]:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats: dict[str, list[Any]] = getattr(reporter, "stats", {})
    counts = {}
    for key in SUMMARY_KEYS:
        reports = [r for r in stats.get(key, []) if getattr(r, "count_towards_summary", True)]
        counts[key] = len(reports)
    # pytest 9 counts a failed subtest as "failed" in its summary; say how many of them were.
    counts["subtests failed"] = sum(
        1 for r in stats.get("failed", []) if type(r).__name__ == "SubtestReport"
    )
    return counts


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the outcomes and the summary counts where Proofwork asked for them."""
    target = os.environ.get("PROOFWORK_OUTCOMES")
    if target:
        with open(target, "w", encoding="utf-8") as handle:
            json.dump(_outcomes, handle)
    summary = os.environ.get("PROOFWORK_SUMMARY")
    if summary:
        with open(summary, "w", encoding="utf-8") as handle:
            json.dump(_summary(session), handle)
