"""The fuzzer against small services on loopback, each breaking a tiny contract its own way:
none, a 500, a hang, a wrong shape, a crash. What it finds, how it reproduces, how long it takes."""

from __future__ import annotations

import http.client
import json
import re
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from proofwork.harness import fuzz
from proofwork.harness.job import Job, ServiceSpec
from proofwork.harness.provider import Provider
from proofwork.harness.service import ServiceError

CONTRACT = """
openapi: 3.0.3
info: {title: Items, version: "1"}
paths:
  /items:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name, count]
              additionalProperties: false
              properties:
                name: {type: string, pattern: '^[a-z]{1,8}$'}
                count: {type: integer, minimum: 0, maximum: 100}
      responses:
        "201": {$ref: "#/components/responses/Item"}
        "400": {$ref: "#/components/responses/Error"}
        "409": {$ref: "#/components/responses/Error"}
        "422": {$ref: "#/components/responses/Error"}
  /items/{name}:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string, pattern: '^[a-z]{1,8}$'}}
      responses:
        "200": {$ref: "#/components/responses/Item"}
        "404": {$ref: "#/components/responses/Error"}
components:
  responses:
    Item:
      description: An item
      content: {application/json: {schema: {$ref: "#/components/schemas/Item"}}}
    Error:
      description: Refused
      content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}
  schemas:
    Item:
      type: object
      required: [name, count]
      properties: {name: {type: string}, count: {type: integer}}
    Error:
      type: object
      required: [error]
      properties: {error: {type: string}}
"""
NAME = re.compile(r"^[a-z]{1,8}$")


@dataclass
class Behaviour:
    """How a test service departs from the contract (by default it does not)."""

    crash_over: int | None = None  # answer 500 to a count above this
    die_over: int | None = None  # stop serving on a count above this (a crashed process)
    hang_on_get: bool = False
    stall_body_on_get: bool = False  # headers, a few bytes of body, then nothing
    wrong_shape: bool = False
    delay_s: float = 0.0


@dataclass
class ItemsService:
    """A tiny in-process items service with ServiceControl's interface for the fuzzer."""

    behaviour: Behaviour
    items: dict[str, int] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    starts: int = 0
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, payments_url: str) -> float:
        self.items.clear()  # in memory, like the orders-api starter: a restart forgets
        self._server = _Server(("127.0.0.1", self.port), _Handler, self)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        self.starts += 1
        return 0.01

    def probe_status(self, path: str | None = None, timeout_s: float = 2.0) -> int | None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            conn.request("GET", path or "/healthz")
            return conn.getresponse().status
        except OSError:
            return None
        finally:
            conn.close()

    def kill(self) -> None:
        self.stop()
        self.start("")

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def die(self) -> None:
        """Stop serving, as a crashed process would (from a request thread)."""
        server, self._server = self._server, None
        if server is not None:
            server.server_close()
            threading.Thread(target=server.shutdown, daemon=True).start()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], svc: ItemsService):
        self.svc = svc
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        svc = self.server.svc
        time.sleep(svc.behaviour.delay_s)
        path = self.path.split("?", 1)[0]
        if not path.startswith("/items/"):
            self.reply(404, {"error": "no such endpoint"})
            return
        if svc.behaviour.hang_on_get:
            svc.release.wait(60)
            return
        if svc.behaviour.stall_body_on_get:
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"name": ')
            self.wfile.flush()
            svc.release.wait(60)
            return
        name = path.removeprefix("/items/")
        if name not in svc.items:
            self.reply(404, {"error": "no such item"})
        elif svc.behaviour.wrong_shape:
            self.reply(200, {"name": name, "count": str(svc.items[name])})
        else:
            self.reply(200, {"name": name, "count": svc.items[name]})

    def do_POST(self) -> None:
        svc = self.server.svc
        time.sleep(svc.behaviour.delay_s)
        if self.path.split("?", 1)[0] != "/items":
            self.reply(404, {"error": "no such endpoint"})
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw)
        except ValueError:
            self.reply(400, {"error": "not JSON"})
            return
        problem = invalid(body)
        if problem:
            self.reply(422, {"error": problem})
            return
        self.create(svc, body["name"], body["count"])

    def create(self, svc: ItemsService, name: str, count: int) -> None:
        behaviour = svc.behaviour
        if behaviour.die_over is not None and count > behaviour.die_over:
            svc.die()
            self.close_connection = True
            self.connection.close()
            return
        if behaviour.crash_over is not None and count > behaviour.crash_over:
            self.reply(500, {"error": "boom"})
        elif name in svc.items:
            self.reply(409, {"error": "exists"})
        else:
            svc.items[name] = count
            self.reply(201, {"name": name, "count": count})


def invalid(body: object) -> str | None:
    """Why a body breaks the contract's item schema, or None."""
    if not isinstance(body, dict) or set(body) != {"name", "count"}:
        return "name and count, nothing else"
    if not isinstance(body["name"], str) or not NAME.match(body["name"]):
        return "name: 1-8 lower-case letters"
    count = body["count"]
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 100:
        return "count: 0-100"
    return None


Run = Callable[..., tuple[dict[str, Any], ItemsService]]


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    path = tmp_path / "openapi.yaml"
    path.write_text(textwrap.dedent(CONTRACT))
    return path


@pytest.fixture
def fuzz_run(contract: Path) -> Iterator[Run]:
    """Fuzzes a fresh items service (seeded with `apple`) with the given behaviour."""
    services: list[ItemsService] = []

    def run(behaviour: Behaviour | None = None, **options: Any) -> tuple[dict[str, Any], Any]:
        service = ItemsService(behaviour or Behaviour())
        services.append(service)
        job = make_job(contract, **options)
        return fuzz.run(job, service, Provider()), service  # type: ignore[arg-type]

    yield run
    for service in services:
        service.release.set()
        service.stop()


def make_job(contract: Path, deadline_s: float = 60.0, **options: Any) -> Job:
    seed = [{"method": "POST", "path": "/items", "json": {"name": "apple", "count": 3}}]
    return Job(
        kind="input",
        backend="none",
        uid=0,
        workspace="",
        state_dir="",
        data_dir="",
        results="",
        service=ServiceSpec(start="unused"),
        env={},
        mounts=[],
        limits={},
        deadline_s=deadline_s,
        options={
            "contract": str(contract),
            "max_examples": 30,
            "request_timeout_s": 1.0,
            "setup": seed,
            "known_values": {"name": ["apple"]},
            **options,
        },
    )


def keys(results: dict[str, Any]) -> set[tuple[str, str, int | None]]:
    return {(f["operation"], f["kind"], f["status"]) for f in results["failures"]}


def operation(results: dict[str, Any], label: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        op for op in results["fuzz"]["operations"] if op["operation"] == label
    )
    return found


def test_a_service_that_keeps_the_contract_has_no_failures(fuzz_run: Run) -> None:
    results, _ = fuzz_run()
    assert results["failures"] == []
    assert results["fuzz"]["setup_statuses"] == [201]
    posted, got = operation(results, "POST /items"), operation(results, "GET /items/{name}")
    assert {"201", "422"} <= set(posted["statuses"])
    # The seeded item is reached, so the 200 answer's shape is checked too.
    assert {"200", "404"} <= set(got["statuses"])
    assert results["fuzz"]["requests"] == posted["requests"] + got["requests"] > 60


def test_a_server_error_is_found_with_a_request_that_reproduces_it(fuzz_run: Run) -> None:
    results, service = fuzz_run(Behaviour(crash_over=50))
    assert keys(results) == {("POST /items", "server_error", 500)}
    failure = results["failures"][0]
    assert failure["request"].startswith("curl -X POST")
    assert failure["response"].startswith("HTTP 500")
    sent = failure["sent"]
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=2)
    conn.request(sent["method"], sent["path"], sent["body"], sent["headers"])
    assert conn.getresponse().status == 500
    assert json.loads(sent["body"])["count"] > 50
    assert results["fuzz"]["server_errors"] == 1


def test_a_hang_is_found_and_the_operation_given_up_within_the_deadline(
    fuzz_run: Run,
) -> None:
    started = time.monotonic()
    results, _ = fuzz_run(Behaviour(hang_on_get=True), max_hangs=2)
    assert time.monotonic() - started < 10
    assert keys(results) == {("GET /items/{name}", "hang", None)}
    hung = operation(results, "GET /items/{name}")
    assert (hung["hangs"], hung["stopped"]) == (2, "hangs")
    assert results["failures"][0]["request"].startswith("curl -X GET")
    assert results["failures"][0]["count"] == 2
    assert operation(results, "POST /items")["requests"] > 30


def test_a_body_that_stops_halfway_is_a_hang(fuzz_run: Run) -> None:
    results, _ = fuzz_run(Behaviour(stall_body_on_get=True), max_hangs=1)
    assert keys(results) == {("GET /items/{name}", "hang", None)}


def test_an_answer_of_the_wrong_shape_breaks_the_contract(fuzz_run: Run) -> None:
    results, _ = fuzz_run(Behaviour(wrong_shape=True))
    assert keys(results) == {("GET /items/{name}", "contract", 200)}
    failure = results["failures"][0]
    assert "Response violates schema" in failure["problems"]
    assert failure["request"].startswith("curl -X GET http://127.0.0.1:")
    assert failure["response"].startswith("HTTP 200")
    assert '"count": "' in failure["response"]  # a string where the contract says integer
    assert "Schema:" not in failure["message"]  # the reason, not a dump of the contract


def test_two_runs_send_the_same_requests_and_find_the_same_failures(fuzz_run: Run) -> None:
    def found(results: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [
            (f["operation"], f["kind"], f["status"], f["count"], f["sent"]["body"])
            for f in results["failures"]
        ]

    first, _ = fuzz_run(Behaviour(crash_over=50, wrong_shape=True))
    second, _ = fuzz_run(Behaviour(crash_over=50, wrong_shape=True))
    assert found(first) == found(second)
    assert len(found(first)) == 2
    assert first["fuzz"]["operations"] == second["fuzz"]["operations"]


def test_fuzzing_stops_when_the_time_budget_is_spent(fuzz_run: Run) -> None:
    results, _ = fuzz_run(Behaviour(delay_s=0.1), budget_s=1.5)
    fuzzed = results["fuzz"]
    assert fuzzed["budget_s"] == pytest.approx(1.5, abs=0.01)
    # The clock starts once hypothesis's unicode tables are built (by the warm-up).
    assert fuzzed["elapsed_s"] < 1.5 + 1.0  # at most one request (1 s timeout) past the end
    assert fuzzed["stopped_early"] is True
    assert 5 <= fuzzed["requests"] < 30


def test_a_service_that_dies_is_found_and_started_again(fuzz_run: Run) -> None:
    results, service = fuzz_run(Behaviour(die_over=90))
    assert ("POST /items", "server_error", None) in keys(results)
    assert results["fuzz"]["restarts"] >= 1
    assert service.starts == 1 + results["fuzz"]["restarts"]
    # Seeded again after the restart, so later operations still reach the item.
    assert "200" in operation(results, "GET /items/{name}")["statuses"]


def test_a_service_that_does_not_start_is_reported_not_fuzzed(contract: Path) -> None:
    class NoService:
        def start(self, payments_url: str) -> float:
            raise ServiceError("the service exited during start-up")

    results = fuzz.run(make_job(contract), NoService(), Provider())  # type: ignore[arg-type]
    assert results == {"service": {"started": False, "error": "the service exited during start-up"}}


def test_hypothesis_leaves_no_files_in_the_working_folder(
    fuzz_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    fuzz_run(max_examples=5)
    assert list(folder.iterdir()) == []


def test_known_values_replace_fields_of_that_name_at_any_depth() -> None:
    value: dict[str, Any] = {"sku": "x", "items": [{"sku": "y", "quantity": 2}], "note": "z"}

    @st.composite
    def replaced(draw: st.DrawFn) -> dict[str, Any]:
        fuzz.replace_known(value, {"sku": ["fuzz-1"], "missing": []}, draw)
        return value

    from hypothesis import find

    assert find(replaced(), lambda _: True) == {
        "sku": "fuzz-1",
        "items": [{"sku": "fuzz-1", "quantity": 2}],
        "note": "z",
    }


def test_options_fall_back_to_defaults(contract: Path) -> None:
    job = make_job(contract)
    job.options = {"contract": str(contract), "modes": ["negative"]}
    options = fuzz.FuzzOptions.from_job(job)
    assert options.modes == ("negative",)
    assert (options.max_examples, options.request_timeout_s, options.setup) == (50, 5.0, ())
