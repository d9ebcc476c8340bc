"""The input probe: findings and metrics from the fuzzer's results, and end to end on the
orders-api pack, whose reference keeps its contract and whose starter answers 500s."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from proofwork import runtime
from proofwork.challenges import Pack, discover, load_pack
from proofwork.config import Settings
from proofwork.evidence import Evidence, Severity
from proofwork.probes.base import Budget, ProbeContext
from proofwork.probes.input import InputProbe, catalogue_seed, fuzz_options
from proofwork.sandbox import BwrapSandbox

ContextFactory = Callable[[dict[str, str]], ProbeContext]

GREETER = Path(__file__).parents[1] / "fixtures/packs/greeter"
# Single-threaded, so one request that never ends wedges the whole service.
WEDGING_SERVER = """
import json, os, time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        name = parse_qs(url.query).get("name", [""])[0]
        if url.path == "/greet" and any(c.isdigit() for c in name):
            time.sleep(600)
        body = json.dumps({"status": "ok"}).encode()
        self.send_response(200 if url.path in ("/healthz", "/greet") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""

FAILURES: list[dict[str, Any]] = [
    {
        "operation": "POST /orders",
        "kind": "server_error",
        "status": 500,
        "title": "Server error",
        "message": "Server error: ",
        "mode": "negative",
        "request": "curl -X POST -d $'\\x00' http://127.0.0.1:8000/orders",
        "response": "HTTP 500 Internal Server Error (text/plain)\nInternal Server Error",
        "count": 7,
    },
    {
        "operation": "GET /products/{sku}",
        "kind": "contract",
        "status": 404,
        "title": "Response violates schema",
        "message": 'Response violates schema: "error" is a required property',
        "mode": "positive",
        "request": "curl -X GET http://127.0.0.1:8000/products/0",
        "response": 'HTTP 404 Not Found (application/json)\n{"detail":"Product not found"}',
        "count": 1,
    },
    {
        "operation": "POST /orders",
        "kind": "hang",
        "status": None,
        "title": "No answer in time",
        "message": "no answer within 5s",
        "mode": "positive",
        "request": "curl -X POST http://127.0.0.1:8000/orders",
        "response": "no response (no answer within 5s)",
        "count": 2,
    },
]
RESULTS: dict[str, Any] = {
    "service": {"started": True, "startup_s": 1.0},
    "fuzz": {
        "operations": [
            {"operation": "GET /healthz", "requests": 0, "statuses": {}, "failures": 0},
            {"operation": "POST /orders", "requests": 90, "statuses": {"201": 8}, "failures": 9},
        ],
        "requests": 90,
        "failures": 3,
        "server_errors": 1,
        "hangs": 1,
        "contract_violations": 1,
        "stopped_early": False,
    },
    "failures": FAILURES,
}


@pytest.fixture(scope="module")
def pack() -> Pack:
    return discover("").get("orders-api")


def test_it_applies_only_to_challenges(make_context: ContextFactory, pack: Pack) -> None:
    ctx = make_context({})
    assert not InputProbe().applies(ctx)
    ctx.challenge = pack
    assert InputProbe().applies(ctx)


def test_each_failure_becomes_a_finding_with_its_reproducing_request() -> None:
    evidence = InputProbe()._evidence(Evidence("input"), RESULTS)
    assert evidence.metrics == {
        "input.operations": 1,
        "input.requests": 90,
        "input.failures": 3,
        "input.server_errors": 1,
        "input.hangs": 1,
        "input.contract_violations": 1,
        "input.stopped_early": False,
    }
    found = [(f.rule, f.severity, f.counts_toward) for f in evidence.findings]
    assert found == [
        ("input.server_error", Severity.HIGH, ("input.server_errors",)),
        ("input.contract", Severity.MEDIUM, ("input.contract_violations",)),
        ("input.hang", Severity.HIGH, ("input.hangs",)),
    ]
    server, contract, hang = evidence.findings
    assert (
        server.message == "POST /orders failed with 500 on a schema-violating request (7 requests)"
    )
    assert server.snippet is not None and server.snippet.startswith("curl -X POST")
    assert "HTTP 500" in server.snippet
    assert contract.snippet is not None and '"error" is a required property' in contract.snippet
    assert hang.message == "POST /orders gave no answer in time to a valid request (2 requests)"
    assert "POST /orders" in evidence.artifacts["input.operations"]


def test_a_service_that_never_started_gets_no_counts(make_context: ContextFactory) -> None:
    results = {"service": {"started": False, "error": "exited during start-up"}}
    evidence = InputProbe()._evidence(Evidence("input"), results)
    # `input.server_errors == 0` must not hold for a service nobody could fuzz.
    assert evidence.metrics == {}
    assert [(f.rule, f.severity) for f in evidence.findings] == [("input.no_service", "info")]


def test_a_submission_without_a_start_command_is_not_fuzzed(
    make_context: ContextFactory, pack: Pack
) -> None:
    ctx = make_context({"app.py": "print('hi')\n"})
    ctx.challenge = pack
    evidence = InputProbe().run(ctx)
    assert evidence.metrics == {}
    assert "proofwork.toml is missing" in evidence.findings[0].message


def test_the_pack_seed_catalogue_and_contract_go_to_the_fuzzer(pack: Pack) -> None:
    setup, known = catalogue_seed(pack)
    assert [r["json"]["sku"] for r in setup] == known["sku"] == ["fuzz-1", "fuzz-2", "fuzz-3"]
    assert {r["json"]["price"] for r in setup} == {"19.99"}
    options = fuzz_options(pack, Path("/var/lib/pw"))
    assert Path(options["contract"]) == pack.path("openapi.yaml")
    assert options["setup"] == setup
    assert options["hypothesis_home"] == "/var/lib/pw/cache/hypothesis"


def graded(
    which: str,
    pack: Pack,
    settings: Settings,
    sandbox_factory: Callable[..., BwrapSandbox],
) -> Evidence:
    """The input probe's evidence for the pack's reference or starter, in a real sandbox."""
    root = pack.path(which)
    files = {
        str(p.relative_to(root)): p.read_text()
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".toml", ".md", ".txt", ".cfg"}
        and not {".hypothesis", ".pytest_cache"} & set(p.parts)
    }
    sandbox = sandbox_factory(files)
    outdir = sandbox.workspace.parent / "out"
    outdir.mkdir()
    env = runtime.environment(settings, sandbox.workspace, extra=pack.spec.runtime.dependencies)
    ctx = ProbeContext(
        sandbox.workspace, sandbox, env, settings, Budget(240), outdir, challenge=pack
    )
    started = time.monotonic()
    evidence = InputProbe().run(ctx)
    evidence.duration_s = time.monotonic() - started
    return evidence


@pytest.mark.slow
def test_the_reference_keeps_its_contract_under_fuzzing(
    pack: Pack, settings: Settings, sandbox_factory: Callable[..., BwrapSandbox]
) -> None:
    evidence = graded("reference", pack, settings, sandbox_factory)
    assert evidence.status == "ok", evidence.error
    metrics = evidence.metrics
    assert metrics["input.operations"] == 7
    assert metrics["input.requests"] >= 500
    assert metrics["input.stopped_early"] is False
    assert (metrics["input.server_errors"], metrics["input.hangs"]) == (0, 0)
    assert metrics["input.contract_violations"] == 0, [f.snippet for f in evidence.findings]
    assert evidence.duration_s < 30


@pytest.mark.slow
def test_the_starter_answers_bad_input_with_500s(
    pack: Pack, settings: Settings, sandbox_factory: Callable[..., BwrapSandbox]
) -> None:
    evidence = graded("starter", pack, settings, sandbox_factory)
    assert evidence.status == "ok", evidence.error
    assert evidence.metrics["input.server_errors"] >= 2
    assert evidence.metrics["input.contract_violations"] >= 3
    server = [f for f in evidence.findings if f.rule == "input.server_error"]
    assert {f.message.split(" failed")[0] for f in server} >= {"POST /products", "POST /orders"}
    assert all(f.snippet and f.snippet.startswith("curl -X POST") for f in server)


@pytest.mark.slow
def test_a_service_that_wedges_is_found_hanging_and_restarted_in_the_sandbox(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(
        {
            "proofwork.toml": '[service]\nstart = "exec python server.py"\n',
            "server.py": WEDGING_SERVER,
        }
    )
    ctx.challenge = load_pack(GREETER)
    evidence = InputProbe().run(ctx)
    assert evidence.status == "ok", evidence.error
    assert evidence.metrics["input.hangs"] == 1
    assert evidence.metrics["input.server_errors"] == 0
    [hang] = [f for f in evidence.findings if f.rule == "input.hang"]
    assert hang.message.startswith("GET /greet gave no answer in time")
    assert hang.snippet is not None and hang.snippet.startswith("curl -X GET")
    results = json.loads((ctx.outdir / "input-results.json").read_text())
    assert results["fuzz"]["restarts"] == 2  # killed and started again after each hang
    greet = next(op for op in results["fuzz"]["operations"] if op["operation"] == "GET /greet")
    assert greet["stopped"] == "hangs"
    assert "200" in greet["statuses"]
