"""What the code says about monitoring and about behaviour under traffic, read from the AST.

Monitoring: is logging set up, are errors swallowed (a bare or broad `except` that neither logs
nor raises), is `print` used for diagnostics, are there health endpoints, metrics or tracing
libraries, and tests that assert nothing. Traffic: HTTP calls without a timeout, database calls
inside loops, whole-file and whole-result reads, `time.sleep` in request handlers. (Blocking
calls in async code come from ruff's ASYNC rules, run in the sandbox by the static probe.)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from proofwork.analysis.sources import SourceFile, SourceTree, parse_all
from proofwork.audit.knowledge import is_authored
from proofwork.evidence import Finding, Severity

PROBE = "audit"
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "fatal"}
)
LOG_SETUP = frozenset({"basicConfig", "dictConfig", "fileConfig", "configure", "setup_logging"})
HTTP_MODULES = frozenset({"requests", "httpx"})
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})
HTTP_CLIENTS = frozenset({"Client", "AsyncClient", "Session"})
DB_CALLS = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "fetchone",
        "fetchall",
        "fetchmany",
        "query",
        "scalar",
        "scalars",
        "raw",
    }
)
UNBOUNDED = frozenset({"fetchall", "readlines"})
ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "route", "api_route", "websocket", "api_view"}
)
HEALTH_WORDS = ("/health", "/healthz", "/livez", "/readyz", "/ready", "/ping", "/status")
OBSERVABILITY = {
    "prometheus_client": "metrics",
    "statsd": "metrics",
    "datadog": "metrics",
    "opentelemetry": "tracing",
    "ddtrace": "tracing",
    "sentry_sdk": "errors",
    "newrelic": "tracing",
    "elasticapm": "tracing",
    "structlog": "logging",
    "loguru": "logging",
}


@dataclass
class Smells:
    """Findings and facts about monitoring and traffic behaviour."""

    monitoring: list[Finding] = field(default_factory=list)
    traffic: list[Finding] = field(default_factory=list)
    logging_configured: bool = False
    logging_calls: int = 0
    health_endpoints: list[str] = field(default_factory=list)
    libraries: dict[str, str] = field(default_factory=dict)  # import -> what it observes
    tests: int = 0
    tests_without_assertions: int = 0


def scan(tree: SourceTree) -> Smells:
    """Read every parsable Python file of the tree."""
    smells = Smells()
    parsed, _ = parse_all(tree.files)
    for source, module in parsed:
        if not is_authored(source.path):
            continue  # examples, documentation and vendored code are not what the team runs
        _Reader(source, smells).visit(module)
        if source.is_test:
            _tests(source, module, smells)
    return smells


def _finding(
    rule: str, severity: Severity, message: str, source: SourceFile, node: ast.AST
) -> Finding:
    line = getattr(node, "lineno", None)
    return Finding(f"audit.{rule}", severity, message, source.path, line, probe=PROBE)


def _dotted(node: ast.AST) -> str:
    """`a.b.c` for a name or attribute chain, '' otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        inner = _dotted(node.func)
        return f"{inner}()" if inner else ""
    return ""


def _is_log_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    return node.func.attr in LOG_METHODS and "log" in _dotted(node.func.value).lower()


def _keywords(call: ast.Call) -> set[str | None]:
    return {k.arg for k in call.keywords}


class _Reader(ast.NodeVisitor):
    """One file's monitoring and traffic facts."""

    def __init__(self, source: SourceFile, smells: Smells) -> None:
        self.source = source
        self.smells = smells
        self.loops = 0
        self.handlers: list[bool] = []  # per enclosing function: is it a request handler

    def add(self, kind: str, rule: str, severity: Severity, message: str, node: ast.AST) -> None:
        target = self.smells.traffic if kind == "traffic" else self.smells.monitoring
        target.append(_finding(rule, severity, message, self.source, node))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._library(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            self._library(node.module)

    def _library(self, name: str) -> None:
        top = name.split(".", 1)[0]
        if top in OBSERVABILITY and not self.source.is_test:
            self.smells.libraries[top] = OBSERVABILITY[top]

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        broad = node.type is None or _dotted(node.type) in ("Exception", "BaseException")
        if broad and not self.source.is_test and not self._handles(node):
            what = "bare `except:`" if node.type is None else f"`except {_dotted(node.type)}`"
            self.add(
                "monitoring",
                "swallowed_error",
                Severity.MEDIUM,
                f"{what} neither logs nor re-raises: failures here vanish without a trace",
                node,
            )
        self.generic_visit(node)

    def _handles(self, node: ast.ExceptHandler) -> bool:
        for child in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            if isinstance(child, ast.Raise) or _is_log_call(child):
                return True
            if isinstance(child, ast.Call) and _dotted(child.func).endswith(
                ("capture_exception", "print_exc", "format_exc")
            ):
                return True
        return False

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        routes = [_route(d) for d in node.decorator_list]
        paths = [p for p in routes if p is not None]
        for path in paths:
            if path.lower().rstrip("/").endswith(HEALTH_WORDS) and not self.source.is_test:
                self.smells.health_endpoints.append(f"{self.source.path}:{node.lineno} {path}")
        first = node.args.args[0].arg if node.args.args else ""
        self.handlers.append(bool(paths) or first == "request")
        saved, self.loops = self.loops, 0
        self.generic_visit(node)
        self.loops = saved
        self.handlers.pop()

    def visit_For(self, node: ast.For) -> None:
        self._loop(node, node.iter)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self._loop(node, node.iter)

    def visit_While(self, node: ast.While) -> None:
        self._loop(node, node.test)

    def _loop(self, node: ast.For | ast.AsyncFor | ast.While, head: ast.expr) -> None:
        self.visit(head)
        self.loops += 1
        for child in [*node.body, *node.orelse]:
            self.visit(child)
        self.loops -= 1

    def visit_Call(self, node: ast.Call) -> None:
        if not self.source.is_test:
            self._call(node)
        self.generic_visit(node)

    def _call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else name
        if name.split(".")[-1] in LOG_SETUP and ("logging" in name or "structlog" in name):
            self.smells.logging_configured = True
        if _is_log_call(node):
            self.smells.logging_calls += 1
        if name == "print" and "file" not in _keywords(node):
            self.add(
                "monitoring",
                "print_diagnostic",
                Severity.LOW,
                "`print` for diagnostics: it has no level, no timestamp and no request "
                "context; use logging",
                node,
            )
        self._traffic(node, name, attr)

    def _traffic(self, node: ast.Call, name: str, attr: str) -> None:
        keywords = _keywords(node)
        module, _, method = name.rpartition(".")
        http_call = module in HTTP_MODULES and (method in HTTP_METHODS or method in HTTP_CLIENTS)
        if (http_call or name.endswith("urlopen")) and not keywords & {"timeout", None}:
            self.add(
                "traffic",
                "http_without_timeout",
                Severity.MEDIUM,
                f"`{name}` without a timeout: one slow upstream holds this worker forever",
                node,
            )
        if self.loops and (attr in DB_CALLS or ".objects." in f"{name}."):
            self.add(
                "traffic",
                "query_in_loop",
                Severity.MEDIUM,
                f"`{name}` inside a loop: one database round trip per item (N+1 queries)",
                node,
            )
        if attr in UNBOUNDED or (attr == "read" and not node.args and not node.keywords):
            self.add(
                "traffic",
                "unbounded_read",
                Severity.LOW,
                f"`{name}()` reads everything at once: memory and latency grow with the "
                "data; stream or page it",
                node,
            )
        if name in ("time.sleep", "sleep") and self.handlers and self.handlers[-1]:
            self.add(
                "traffic",
                "sleep_in_request",
                Severity.HIGH,
                "`time.sleep` in a request handler: it blocks the worker for every request "
                "in flight",
                node,
            )


def _route(decorator: ast.expr) -> str | None:
    """The path of a route decorator (`@app.get("/x")`), '' for a route without one."""
    if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
        return None
    if decorator.func.attr not in ROUTE_DECORATORS:
        return None
    first = decorator.args[0] if decorator.args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return ""


def _tests(source: SourceFile, module: ast.Module, smells: Smells) -> None:
    for node in _test_functions(module):
        smells.tests += 1
        if not _asserts(node):
            smells.tests_without_assertions += 1
            smells.monitoring.append(
                _finding(
                    "test_without_assertion",
                    Severity.LOW,
                    f"{node.name} asserts nothing: it passes whatever the code does "
                    "(unless it only checks that nothing raises)",
                    source,
                    node,
                )
            )


def _test_functions(module: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(module):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            yield node


def _asserts(node: ast.AST) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Assert):
            return True
        if isinstance(child, ast.Call):
            name = _dotted(child.func)
            last = name.rsplit(".", 1)[-1]
            if last.startswith(("assert", "fail")) or name.endswith(("raises", "warns")):
                return True
            if last in ("check", "verify", "expect") or "assert" in last.lower():
                return True
    return False
