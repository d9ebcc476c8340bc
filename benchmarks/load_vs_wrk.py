"""Benchmark: the load probe's generator against `wrk` on the same trivial ASGI endpoint.

The load generator must not be what limits a measured service. Here the server is uvicorn
serving a minimal ASGI app (a fixed 200 answer) from the orders-api pack's runtime venv, pinned
to one core; wrk (Debian's package) and the generator (`proofwork.harness.loadgen`, exactly as
the load probe runs it) take turns driving it from the other core, with the same connections
and duration, in the same run. Each side runs `--rounds` times, alternating, and the medians
are compared. Target (from the issue): generator / wrk >= 0.8.

    .venv/bin/python benchmarks/load_vs_wrk.py [--connections 16] [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proofwork import runtime
from proofwork.challenges import discover
from proofwork.config import load_settings
from proofwork.harness.loadgen import Generator, Mix, RequestSpec, encode

TARGET_RATIO = 0.8
APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def cores() -> tuple[int, int]:
    """The server's core and the load's core (the benchmark needs two)."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        sys.exit("this benchmark needs two cores: one for the server, one for the load")
    return available[0], available[1]


def start_server(folder: Path, port: int, core: int) -> subprocess.Popen[bytes]:
    """uvicorn with the trivial app, from the pack's runtime venv, pinned to `core`."""
    settings = load_settings()
    pack = discover(settings.challenges_path).get("orders-api")
    venv = runtime.ensure_runtime(settings, "base", pack.spec.runtime.dependencies)
    (folder / "trivial.py").write_text(APP)
    argv = [str(venv / "bin" / "python"), "-m", "uvicorn", "trivial:app", "--port", str(port)]
    argv += ["--host", "127.0.0.1", "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(["taskset", "-c", str(core), *argv], cwd=folder)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    server.kill()
    sys.exit("uvicorn did not start listening within 20 s")


def run_wrk(port: int, core: int, connections: int, seconds: float) -> float:
    """wrk's requests per second (one thread: it has one core, as the generator does)."""
    argv = ["taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s"]
    done = subprocess.run(
        [*argv, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True
    )
    match = re.search(r"Requests/sec:\s*([\d.]+)", done.stdout)
    if match is None:
        sys.exit(f"could not read wrk's output:\n{done.stdout}")
    return float(match[1])


def run_generator(port: int, connections: int, seconds: float) -> float:
    """The load probe's generator, one request kind, answers checked; good answers per second."""
    spec = RequestSpec("trivial", 1, "GET", "/", expect_status=frozenset({200}))
    mix = Mix((spec,), ((0, encode("GET", "/", None, port)),))

    async def measure() -> float:
        generator = Generator(port, mix)
        try:
            step = await generator.step(connections, warmup_s=1.0, duration_s=seconds)
        finally:
            generator.close()
        if step.errors:
            sys.exit(f"the generator saw errors: {step.errors_by_reason}")
        return step.throughput_rps

    return asyncio.run(measure())


def main() -> int:
    """Alternate wrk and the generator against one server; print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run scripts/system-deps.sh (Debian package `wrk`)")
    server_core, load_core = cores()
    os.sched_setaffinity(0, {load_core})  # the generator runs in this very process
    port = free_port()
    rates: dict[str, list[float]] = {"wrk": [], "generator": []}
    with tempfile.TemporaryDirectory(prefix="pw-bench-") as folder:
        server = start_server(Path(folder), port, server_core)
        try:
            run_generator(port, args.connections, 2.0)  # warm the server up, not counted
            for round_number in range(1, args.rounds + 1):
                rates["wrk"].append(run_wrk(port, load_core, args.connections, args.seconds))
                rates["generator"].append(run_generator(port, args.connections, args.seconds))
                print(
                    f"round {round_number}/{args.rounds}: wrk {rates['wrk'][-1]:.0f} req/s, "
                    f"generator {rates['generator'][-1]:.0f} req/s",
                    flush=True,
                )
        finally:
            server.terminate()
            server.wait(timeout=10)
    return report(rates, args.connections, args.seconds, server_core, load_core)


def report(
    rates: dict[str, list[float]], connections: int, seconds: float, server: int, load: int
) -> int:
    """Print the table; 0 when the ratio meets the target."""
    wrk, generator = statistics.median(rates["wrk"]), statistics.median(rates["generator"])
    ratio = generator / wrk if wrk else 0.0
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(
        f"\nuvicorn + trivial ASGI app on core {server}; load on core {load}; "
        f"{connections} connections, {seconds:g} s per run"
    )
    print(f"{'':28}{'median':>10}  runs")
    for name, values in (("wrk -t1", rates["wrk"]), ("proofwork generator", rates["generator"])):
        runs = " ".join(f"{v:.0f}" for v in values)
        print(f"{name:28}{statistics.median(values):>10.0f}  {runs}  req/s")
    print(f"{'ratio generator / wrk':28}{ratio:>10.2f}  target >= {TARGET_RATIO} {verdict}")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
