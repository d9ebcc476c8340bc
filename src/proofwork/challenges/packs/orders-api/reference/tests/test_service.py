"""The service as operators run it: `python -m app` in its own process, on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

import app.__main__ as entry
from app.config import Settings

ROOT = Path(__file__).resolve().parents[1]


class PaystreamHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"id": "ch_1", "status": "succeeded"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def paystream_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), PaystreamHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Service:
    def __init__(self, data_dir: Path, payments_url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "PORT": str(self.port), "DATA_DIR": str(data_dir), "PAYMENTS_URL": payments_url}
        self.log_path = data_dir.parent / f"service-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError("the service did not become healthy")

    def output(self) -> list[str]:
        return self.log_path.read_text().splitlines()


@pytest.mark.timeout(60)
def test_orders_survive_kill_9_and_the_next_run_stops_cleanly_on_sigterm(tmp_path: Path, paystream_url: str) -> None:
    service = Service(tmp_path / "data", paystream_url)
    httpx.post(f"{service.url}/products", json={"sku": "PAN", "name": "Pan", "price": "12.25", "stock": 10})
    body = {"customer_id": "c", "region": "DE", "items": [{"sku": "PAN", "quantity": 1}]}
    placed = [httpx.post(f"{service.url}/orders", json=body).json() for _ in range(3)]
    service.process.kill()
    service.process.wait()

    restarted = Service(tmp_path / "data", paystream_url)
    try:
        assert [httpx.get(f"{restarted.url}/orders/{order['id']}").json() for order in placed] == placed
        assert httpx.get(f"{restarted.url}/products/PAN", headers={"X-Request-ID": "probe-1"}).json()["stock"] == 7
        restarted.process.send_signal(signal.SIGTERM)
        assert restarted.process.wait(timeout=10) == 0
    finally:
        restarted.process.kill()
        restarted.process.wait()

    lines = [json.loads(line) for line in restarted.output()]  # every line is JSON
    assert any(line.get("request_id") == "probe-1" for line in lines)
    assert lines[-1]["message"] == "stopped cleanly"


def test_a_bad_environment_stops_the_service_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DATA_DIR", raising=False)

    with pytest.raises(SystemExit) as stopped:
        entry.main()

    assert stopped.value.code == 2
    assert json.loads(capsys.readouterr().out)["message"] == "bad configuration: DATA_DIR must be set"


def test_main_serves_on_the_configured_port(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PAYMENTS_URL", "http://pay.test")
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options))
    monkeypatch.setattr(signal, "signal", lambda *args: None)

    entry.main()

    assert (served["host"], served["port"], served["access_log"]) == ("127.0.0.1", 8123, False)
    assert served["timeout_graceful_shutdown"] == int(Settings.from_env(os.environ).shutdown_grace_s)
    with pytest.raises(SystemExit) as stopped:
        entry._exit_after_drain(signal.SIGTERM, None)
    assert stopped.value.code == 0
