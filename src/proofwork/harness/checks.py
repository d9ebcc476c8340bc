"""Acceptance checks: how a pack declares them, loads them, and how the harness runs them.

A pack's `checks/` folder holds plain modules of functions decorated with `@check(...)`. They are
trusted code (they ship with Proofwork), imported by path as one package so they can share
helpers through relative imports from `_`-prefixed modules, which are not scanned for checks.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import itertools
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, Protocol, get_args

from proofwork.harness.http import CheckFailed, Exchange, Http
from proofwork.harness.provider import Provider

__all__ = [
    "Check",
    "CheckContext",
    "CheckFailed",
    "CheckLoadError",
    "CheckResult",
    "CheckSeverity",
    "ServiceControl",
    "check",
    "detail",
    "load_checks",
    "run_check",
    "run_checks",
]


class ServiceControl(Protocol):
    """Lifecycle of the service under test; both calls return once /healthz answers 200."""

    def restart(self) -> None:
        """Stop the service gracefully (SIGTERM) and start it again on the same DATA_DIR."""
        ...

    def kill(self) -> None:
        """SIGKILL the service and start it again on the same DATA_DIR."""
        ...


@dataclass
class CheckContext:
    """What a check gets: a recording client, the fake provider, and the service's lifecycle."""

    http: Http
    provider: Provider
    service: ServiceControl
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    _counter: Iterator[int] = field(default_factory=itertools.count, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def exchanges(self) -> list[Exchange]:
        """Every exchange so far; a failed check shows its last one."""
        return self.http.exchanges

    def reset(self) -> None:
        """Before each check: the provider answers "ok" again."""
        self.provider.reset()

    def unique(self, prefix: str) -> str:
        """A fresh id (`sku-3fa9c1-7`) so checks never collide; letters, digits and dashes."""
        with self._lock:
            number = next(self._counter)
        return f"{prefix[:40]}-{self.token}-{number}"


class Context(Protocol):
    """What running a check needs of its context, whatever the submission's kind."""

    @property
    def exchanges(self) -> list[Exchange]:
        """Every exchange (request, or run of a job) so far, in order."""
        ...

    def reset(self) -> None:
        """Undo what one check set up, so it never leaks into the next."""
        ...


# A service's checks take a CheckContext, a job's a JobCheckContext (harness/batch_checks.py).
CheckFunction = Callable[[Any], None]

# What breaking a check's rule costs: critical = money wrong, oversell, double charge, lost or
# changed data; major = a rule broken on a main path; minor = a documented detail (an unlisted
# error code). Signal levels read failures per severity, so a detail never weighs like a loss.
CheckSeverity = Literal["critical", "major", "minor"]
SEVERITIES: tuple[CheckSeverity, ...] = get_args(CheckSeverity)


@dataclass(frozen=True)
class Check:
    """One acceptance check: which rule of the brief it covers and how a hiring lead reads it."""

    id: str
    rule: str
    title: str
    order: int
    function: CheckFunction
    source: str = ""
    severity: CheckSeverity | None = None

    def __call__(self, ctx: Context) -> None:
        """Run the check's body (raises CheckFailed or AssertionError when the rule is broken)."""
        self.function(ctx)


class CheckLoadError(Exception):
    """A pack's checks could not be loaded (import error, duplicate ids)."""


# Checks register here while `load_checks` imports a pack; None means "not loading".
_collecting: list[Check] | None = None
_LOAD_LOCK = threading.Lock()


def check(
    *,
    id: str,
    rule: str,
    title: str,
    severity: CheckSeverity | None = None,
    order: int = 500,
) -> Callable[[CheckFunction], Check]:
    """Declare an acceptance check; lower `order` runs first (restart/kill checks go last).

    `severity` is required: `load_checks` refuses a pack whose check has none, naming it.
    """
    if not (id and rule and title):
        raise ValueError("a check needs an id, a rule and a title")

    def register(function: CheckFunction) -> Check:
        module = getattr(function, "__module__", "")
        declared = Check(id, rule, title, order, function, module, severity)
        if _collecting is not None:
            _collecting.append(declared)
        return declared

    return register


def load_checks(folder: Path) -> list[Check]:
    """Import every `checks/*.py` of a pack (not `_*.py`) and return its checks by (order, id)."""
    global _collecting
    folder = folder.resolve()
    with _LOAD_LOCK:
        package = _fresh_package(folder)
        found: list[Check] = []
        _collecting = found
        try:
            for path in sorted(folder.glob("*.py")):
                if not path.name.startswith("_"):
                    _import(f"{package}.{path.stem}", path)
        finally:
            _collecting = None
    _refuse_duplicates(found)
    _refuse_unknown_severities(found, folder)
    return sorted(found, key=lambda c: (c.order, c.id))


def load_helpers(folder: Path, name: str) -> ModuleType:
    """Import a helper module of a pack's checks the way the checks themselves import it."""
    with _LOAD_LOCK:
        package = _fresh_package(folder.resolve())
    return importlib.import_module(f"{package}.{name}")


def _fresh_package(folder: Path) -> str:
    # One synthetic package per folder; forget an earlier load so checks register again.
    name = "_proofwork_checks_" + hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module = importlib.util.module_from_spec(spec)
    module.__path__ = [str(folder)]
    sys.modules[name] = module
    return name


def _import(module_name: str, path: Path) -> None:
    try:
        importlib.import_module(module_name)
    except Exception as exc:
        raise CheckLoadError(
            f"cannot load checks from {path}: {type(exc).__name__}: {exc}"
        ) from exc


def _refuse_duplicates(checks: list[Check]) -> None:
    seen: dict[str, Check] = {}
    for declared in checks:
        if declared.id in seen:
            first = seen[declared.id]
            raise CheckLoadError(
                f"check id {declared.id!r} is declared twice ({first.source} and {declared.source})"
            )
        seen[declared.id] = declared


def _refuse_unknown_severities(checks: list[Check], folder: Path) -> None:
    for declared in checks:
        if declared.severity not in SEVERITIES:
            given = f"severity {declared.severity!r}" if declared.severity else "no severity"
            raise CheckLoadError(
                f"{folder}: check {declared.id!r} has {given}; declare one of "
                f"{', '.join(SEVERITIES)} in its @check(...) (critical = money wrong, oversell, "
                "double charge, lost or changed data; major = a rule broken on a main path; "
                "minor = a documented detail such as an unlisted error code)"
            )


# Details a running check noted (see `detail`); set inside the thread that runs the check.
_details: ContextVar[list[CheckFailed] | None] = ContextVar("check_details", default=None)


def detail(message: str, exchange: Exchange | None = None) -> None:
    """Note a documented detail the service got wrong (an unlisted error code) and go on.

    The check carries on, so a detail never hides something worse found later; if nothing
    worse turns up, the check fails as minor with the first detail. Outside a check run the
    detail fails at once.
    """
    noted = _details.get()
    if noted is None:
        raise CheckFailed(message, exchange=exchange)
    noted.append(CheckFailed(message, exchange=exchange))


@dataclass
class CheckResult:
    """The outcome of one check, with the exchange that showed a failure."""

    id: str
    rule: str
    title: str
    status: str  # passed | failed | error
    message: str
    exchange: Exchange | None
    duration_s: float
    # What the outcome counts as: the check's severity, or minor when only details failed.
    severity: CheckSeverity = "major"

    @property
    def passed(self) -> bool:
        """Whether the service met the rule."""
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict for the results file and the report."""
        return {
            "id": self.id,
            "rule": self.rule,
            "title": self.title,
            "passed": self.passed,
            "status": self.status,
            "severity": self.severity,
            "message": self.message,
            "exchange": self.exchange.to_json() if self.exchange is not None else None,
            "duration_s": round(self.duration_s, 3),
        }


def run_checks(
    checks: Iterable[Check],
    ctx: Context,
    *,
    deadline_s_per_check: float = 30.0,
    only: set[str] | None = None,
) -> list[CheckResult]:
    """Run checks one after another (in the order given); `only` restricts them by id."""
    return [
        run_check(declared, ctx, deadline_s=deadline_s_per_check)
        for declared in checks
        if only is None or declared.id in only
    ]


def run_check(declared: Check, ctx: Context, *, deadline_s: float = 30.0) -> CheckResult:
    """Run one check from a clean slate; never raises, whatever the check does."""
    ctx.reset()  # one check's provider mode must never leak into the next
    first_exchange = len(ctx.exchanges)
    started = time.monotonic()
    outcome = _call_with_deadline(declared, ctx, deadline_s)
    duration = time.monotonic() - started
    own = ctx.exchanges[first_exchange:]
    severity: CheckSeverity = declared.severity or "major"
    if isinstance(outcome, _Details):
        outcome, severity = outcome.first(), "minor"
    status, message, exchange = _judge(outcome, deadline_s)
    if exchange is None and status != "passed" and own:
        exchange = own[-1]
    return CheckResult(
        declared.id, declared.rule, declared.title, status, message, exchange, duration, severity
    )


class _TimedOut:
    pass


@dataclass(frozen=True)
class _Details:
    """The check ran to its end and only documented details were wrong."""

    noted: list[CheckFailed]

    def first(self) -> CheckFailed:
        more = f" (and {len(self.noted) - 1} more details)" if len(self.noted) > 1 else ""
        return CheckFailed(self.noted[0].message + more, exchange=self.noted[0].exchange)


def _call_with_deadline(
    declared: Check, ctx: Context, deadline_s: float
) -> BaseException | _TimedOut | _Details | None:
    # A thread, because a check stuck on the service cannot be interrupted from outside;
    # when it overruns it is abandoned (daemon) and the next provider reset lets it go.
    raised: list[BaseException] = []
    noted: list[CheckFailed] = []

    def body() -> None:
        _details.set(noted)  # a new thread starts with a fresh context: this is its own
        try:
            declared(ctx)
        except BaseException as exc:  # noqa: BLE001 - any exception is an outcome to report
            raised.append(exc)

    worker = threading.Thread(target=body, name=f"check:{declared.id}", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        return _TimedOut()
    if raised:
        return raised[0]
    return _Details(list(noted)) if noted else None


def _judge(
    outcome: BaseException | _TimedOut | None, deadline_s: float
) -> tuple[str, str, Exchange | None]:
    if outcome is None:
        return "passed", "", None
    if isinstance(outcome, _TimedOut):
        return "failed", f"the check did not finish within {deadline_s:g} s", None
    if isinstance(outcome, CheckFailed):
        return "failed", outcome.message, outcome.exchange
    if isinstance(outcome, AssertionError):
        return "failed", str(outcome) or "assertion failed", None
    return "error", f"{type(outcome).__name__}: {outcome}", None
