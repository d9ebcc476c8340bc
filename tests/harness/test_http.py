"""The recording HTTP client: every exchange is kept, and no answer is an answer too."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from proofwork.harness.http import CheckFailed, Exchange, Http


class _Service(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(1.0)
        if self.path == "/reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if self.path == "/port":
            self._send(200, str(self.client_address[1]).encode())
            return
        status = 500 if self.path == "/boom" else 200
        body = b"<html>oops</html>" if self.path == "/html" else json.dumps({"path": self.path})
        self._send(status, body if isinstance(body, bytes) else body.encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._send(201, self.rfile.read(length) or b"{}")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the slow route writes after the client gave up; that is the point of it


@pytest.fixture
def http() -> Iterator[Http]:
    server = _Server(("127.0.0.1", 0), _Service)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    client = Http(f"http://127.0.0.1:{server.server_address[1]}")
    yield client
    client.close()
    server.shutdown()
    server.server_close()


def test_it_records_every_exchange_in_order(http: Http) -> None:
    first = http.get("/a", params={"limit": 2})
    second = http.post("/orders", json={"sku": "x"}, headers={"Idempotency-Key": "k1"})

    assert http.exchanges == [first, second]
    assert http.last is second
    assert first.status == 200 and first.url.endswith("/a?limit=2")
    assert first.request_body is None
    assert second.status == 201 and second.json() == {"sku": "x"}
    assert json.loads(second.request_body or b"") == {"sku": "x"}
    assert second.request_headers["idempotency-key"] == "k1"
    assert second.response_headers["content-type"] == "application/json"


def test_it_never_raises_on_an_error_status(http: Http) -> None:
    ex = http.get("/boom")

    assert ex.status == 500 and ex.error is None


def test_a_json_null_body_is_sent_as_null(http: Http) -> None:
    assert http.post("/echo", json=None).response_body == b"null"


def test_raw_content_is_sent_as_is(http: Http) -> None:
    ex = http.post("/echo", content=b"{not json", headers={"Content-Type": "application/json"})

    assert ex.request_body == b"{not json" and ex.response_body == b"{not json"


def test_a_timeout_becomes_an_error_without_status(http: Http) -> None:
    ex = http.get("/slow", timeout_s=0.2)

    assert ex.status is None
    assert ex.error is not None and ex.error.startswith("timeout")
    assert 0.2 <= ex.elapsed_s < 0.9
    assert http.last is ex


def test_a_reset_connection_becomes_an_error(http: Http) -> None:
    ex = http.get("/reset")

    assert ex.status is None
    assert ex.error is not None and ex.error.startswith("connection error")


def test_a_refused_connection_becomes_an_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = Http(f"http://127.0.0.1:{port}", timeout_s=1.0)

    ex = client.get("/healthz")

    assert ex.status is None and ex.error is not None and "Connect" in ex.error


def test_a_body_that_is_not_json_fails_the_check_with_its_exchange(http: Http) -> None:
    ex = http.get("/html")

    with pytest.raises(CheckFailed) as failed:
        ex.json()

    assert failed.value.message == "response is not JSON"
    assert failed.value.exchange is ex


def test_the_report_view_is_bounded_and_lenient() -> None:
    ex = Exchange("POST", "http://127.0.0.1:1/x", {}, b"\xff" * 10, 200, {}, b"a" * 10_000, 0.1)

    view = ex.to_json(limit=100)

    assert json.loads(json.dumps(view)) == view
    assert view["response_body"].startswith("a" * 100) and len(view["response_body"]) < 140
    assert view["request_body"] == "\ufffd" * 10


def test_each_request_gets_a_fresh_connection(http: Http) -> None:
    # A service that drops a kept-alive connection after a bad answer must not fail the next one.
    ports = {http.get("/port").json() for _ in range(3)}

    assert len(ports) == 3


def test_it_can_be_used_from_many_threads(http: Http) -> None:
    threads = [threading.Thread(target=http.get, args=(f"/{i}",)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(ex.status or 0 for ex in http.exchanges) == [200] * 20
