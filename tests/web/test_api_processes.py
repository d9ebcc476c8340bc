"""`proofwork serve --api-processes N`: N real processes answer on one port, each on its own
listening socket, so clients that connect at once are spread over them; a process that dies is
replaced, SIGTERM stops them all, and a taken port is refused with the reason."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from proofwork.store import make_engine, upgrade

pytestmark = pytest.mark.slow
PROOFWORK = str(Path(sys.executable).parent / "proofwork")
CLIENTS = 40


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def store_env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return {
        **os.environ,
        "PROOFWORK_DATABASE_URL": url,
        "PROOFWORK_BLOBS": "database",
        "PROOFWORK_INSTALL": "false",
    }


def _wait(predicate: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def serving(
    store_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = _free_port()
    argv = [PROOFWORK, "serve", "--port", str(port), "--workers", "0", "--api-processes", "2"]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(argv, env=store_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _healthy(f"http://127.0.0.1:{port}"), "the service to answer")
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def _api_processes(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()
        and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _established_on(port: int) -> set[int]:
    """Socket inodes of the server's side of the connections established to the port."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(int(fields[9]))
    return inodes


def _connections_of(pid: int, inodes: set[int]) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:[") and int(target[8:-1]) in inodes:
            count += 1
    return count


def _request(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: test\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        assert chunk, "the service closed the connection"
        answer += chunk
    return answer


def test_clients_that_connect_at_once_are_spread_over_the_api_processes(
    serving: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = serving
    workers = _api_processes(process.pid)
    assert len(workers) == 2, workers
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(CLIENTS)]
    try:
        for client in clients:  # every one answered, on a connection kept open
            assert _request(client).startswith(b"HTTP/1.1 200")
        inodes = _established_on(port)
        counts = [_connections_of(pid, inodes) for pid in workers]
        assert sum(counts) == CLIENTS, counts
        # The kernel spreads them by their addresses (a binomial split): below 8 of 40 is
        # about 1 in 50,000. One shared socket gave one process nearly all of them.
        assert min(counts) >= 8, counts
    finally:
        for client in clients:
            client.close()


def test_a_dead_api_process_is_replaced_and_sigterm_stops_them_all(
    serving: tuple[subprocess.Popen[bytes], int],
) -> None:
    process, port = serving
    first, second = _api_processes(process.pid)
    os.kill(first, signal.SIGKILL)
    _wait(
        lambda: len(set(_api_processes(process.pid)) - {first, second}) == 1,
        "a replacement process",
    )
    _wait(lambda: _healthy(f"http://127.0.0.1:{port}"), "the service to answer again")
    workers = _api_processes(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    for pid in workers:
        _wait(lambda pid=pid: not Path(f"/proc/{pid}").exists(), f"API process {pid} to end")
    assert not _healthy(f"http://127.0.0.1:{port}")


def test_a_taken_port_is_refused_with_the_reason(store_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [PROOFWORK, "serve", "--port", str(port), "--workers", "0", "--api-processes", "2"]
        result = subprocess.run(argv, env=store_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr + result.stdout
