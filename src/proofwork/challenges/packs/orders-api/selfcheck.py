"""Self-check for the orders-api challenge: `python selfcheck.py` in your repository.

It starts your service the way the grader does (the `[service] start` command of
proofwork.toml, with PORT, DATA_DIR and PAYMENTS_URL set), answers for the payment provider
with a simple fake, runs a few public checks and then your own tests. The grader's hidden
checks cover every rule of brief.md in far more depth; passing these is a start, not a grade.
Standard library only, so it runs wherever your service does.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path.cwd()  # the repository being checked: run it from there
STARTUP_S = 30
STOP_S = 10
SHELLS = ("sh", "dash", "bash", "zsh")


class Paystream(BaseHTTPRequestHandler):
    """A fake payment provider that accepts every well-formed charge once per key."""

    charges: ClassVar[dict[str, dict[str, str]]] = {}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        key = self.headers.get("Idempotency-Key") or uuid.uuid4().hex
        charge = self.charges.setdefault(key, {"id": f"ch_{uuid.uuid4().hex[:12]}", **body})
        reply = json.dumps({"id": charge["id"], "status": "succeeded"}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        """Quiet."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(
    base: str, method: str, path: str, body: object = None, raw: bytes | None = None
) -> tuple[int | None, Any]:
    """(status, parsed JSON or None) for one request; never raises on an HTTP status."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    # Only ever http://127.0.0.1:<port>: the URL is built here, never taken from input.
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    except OSError as error:
        return None, str(error)
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None


def is_error(payload: object) -> bool:
    error = payload.get("error") if isinstance(payload, dict) else None
    return isinstance(error, dict) and isinstance(error.get("code"), str)


def public_checks(base: str) -> list[tuple[str, bool, str]]:
    """A few of the brief's rules, checked the simple way."""
    sku = f"SELF-{uuid.uuid4().hex[:8]}"
    results = []

    def record(name: str, ok: bool, detail: str) -> None:
        results.append((name, ok, detail))

    status, _ = call(base, "GET", "/healthz")
    record("GET /healthz answers 200", status == 200, f"got {status}")
    status, product = call(
        base, "POST", "/products", {"sku": sku, "name": "Pan", "price": "10.00", "stock": 5}
    )
    record("POST /products creates a product (201)", status == 201, f"got {status}")
    price = product.get("price") if isinstance(product, dict) else None
    record("Money travels as a 2-decimal string (R2)", price == "10.00", f"price was {price!r}")
    status, payload = call(
        base, "POST", "/products", {"sku": sku, "name": "Pan", "price": "10.00", "stock": 5}
    )
    record(
        "A duplicate sku is a conflict (R1)", status == 409 and is_error(payload), f"got {status}"
    )
    order = {"customer_id": "self-check", "region": "DE", "items": [{"sku": sku, "quantity": 2}]}
    status, placed = call(base, "POST", "/orders", order)
    total = placed.get("total") if isinstance(placed, dict) else None
    record("An order is placed and paid (201)", status == 201, f"got {status}")
    record("Total = 20.00 + 19% tax = 23.80 (R3, R5)", total == "23.80", f"total was {total!r}")
    order_id = placed.get("id") if isinstance(placed, dict) else None
    status, _ = call(base, "GET", f"/orders/{order_id}")
    record("GET /orders/{id} returns the order", status == 200, f"got {status}")
    status, payload = call(base, "GET", "/orders/no-such-order")
    record(
        "An unknown order is 404 with an error body (R9)",
        status == 404 and is_error(payload),
        f"got {status}",
    )
    status, payload = call(base, "POST", "/orders", raw=b"{not json")
    record(
        "Malformed JSON is a 4xx error, not a crash (R9)",
        status is not None and 400 <= status < 500 and is_error(payload),
        f"got {status}",
    )
    status, page = call(base, "GET", "/products?limit=1")
    paged = isinstance(page, dict) and len(page.get("items", [])) <= 1 and "next_cursor" in page
    record("Lists are paginated (R10)", status == 200 and paged, f"got {status}")
    return results


def start_service(port: int, payments: str, data_dir: str) -> subprocess.Popen[bytes]:
    config = tomllib.loads((ROOT / "proofwork.toml").read_text())
    command = config["service"]["start"]
    env = {**os.environ, "PORT": str(port), "DATA_DIR": data_dir, "PAYMENTS_URL": payments}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.Popen(["/bin/sh", "-c", command], cwd=ROOT, env=env, start_new_session=True)


def wait_until_answering(base: str, service: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline and service.poll() is None:
        if call(base, "GET", "/healthz")[0] is not None:
            return True
        time.sleep(0.2)
    return False


def stop(service: subprocess.Popen[bytes]) -> bool:
    """SIGTERM the service and wait until it has exited; whether it did within the grace period.

    Like the grader, this signals the service itself, not the `/bin/sh` that runs its start
    command: that shell would die at once and say nothing of a service still finishing (or
    ignoring) its work. Every process the start command left behind must be gone in time.
    """
    members = group_members(service.pid)
    if members is None:  # no /proc (macOS): signal the whole group, the shell included
        os.killpg(service.pid, signal.SIGTERM)
    else:
        wrapper = service.pid if len(members) > 1 and members.get(service.pid) in SHELLS else None
        for pid in members:
            if pid != wrapper:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_S
    while still_running(service):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.pid, signal.SIGKILL)
            service.wait()
            return False
        time.sleep(0.05)
    return True


def group_members(group: int) -> dict[int, str] | None:
    """Live processes of a process group and their command names, from /proc (None without)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    members = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it just exited
        name, _, rest = stat.partition(" (")[2].rpartition(") ")
        fields = rest.split()
        if len(fields) > 2 and int(fields[2]) == group and fields[0] not in ("Z", "X"):
            members[int(entry.name)] = name
    return members


def still_running(service: subprocess.Popen[bytes]) -> bool:
    """Whether any process of the service's group is still alive (the shell reaped first)."""
    service.poll()
    members = group_members(service.pid)
    if members is not None:
        return bool(members)
    try:
        os.killpg(service.pid, 0)
    except ProcessLookupError:
        return False
    return True


def run_tests() -> tuple[bool, str]:
    if not any(ROOT.glob("tests/**/test_*.py")) and not any(ROOT.glob("test_*.py")):
        return False, "no tests found (tests/test_*.py)"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    return done.returncode == 0, lines[-1] if lines else done.stderr.strip()[-300:]


def main() -> int:
    provider = ThreadingHTTPServer(("127.0.0.1", free_port()), Paystream)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        service = start_service(port, f"http://127.0.0.1:{provider.server_address[1]}", data_dir)
        if not wait_until_answering(base, service):
            print(f"FAIL  the service did not answer on {base} within {STARTUP_S}s")
            if service.poll() is None:
                stop(service)
            return 1
        results = public_checks(base)
        stopped = stop(service)
        still = f"still running {STOP_S}s after SIGTERM"
        results.append(("Exits cleanly on SIGTERM", stopped, still))
    provider.shutdown()
    tests_ok, tests_line = run_tests()
    results.append(("Your tests pass", tests_ok, tests_line))
    for name, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {name}" + ("" if ok else f"  ({detail})"))
    passed = sum(ok for _, ok, _ in results)
    print(
        f"\n{passed}/{len(results)} self-checks passed. "
        "The grader's hidden checks cover every rule in brief.md."
    )
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
