"""Several API processes answering on one port, each accepting on its own listening socket.

A listening socket shared by the processes (uvicorn's `--workers`) hands a burst of new
connections to whichever process wakes first, and it accepts the whole burst: 50 clients that
connect at once were seen split 44 to 6, so one process served nearly everything while the other
idled, and the clients it served waited eight times longer. Here each process binds the port with
`SO_REUSEPORT` and the kernel spreads connections over them by their addresses. This process
supervises: it restarts a process that dies, and stops them all on SIGTERM or SIGINT.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

APP_FACTORY = "proofwork.web.app:api_process_app"
BACKLOG = 2048
# A process that exits on its own (not killed by a signal) this soon after it started failed to
# start: starting it again would fail the same way, so the whole service stops and says so.
FAILED_START_S = 10.0


class ServeError(Exception):
    """The API processes cannot run (the port is taken, or a process fails to start)."""


def reuse_port_supported() -> bool:
    """Whether the kernel balances connections over sockets sharing a port (Linux does)."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listener(host: str, port: int) -> socket.socket:
    """A listening socket on host:port that other processes' listeners may share."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


def ensure_free(host: str, port: int) -> None:
    """Raise ServeError when something listens on host:port already: a socket bound without
    SO_REUSEPORT conflicts with every other, so another `proofwork serve` cannot end up
    silently sharing the port with this one."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def _answer(host: str, port: int, log_level: str) -> None:
    """One API process: uvicorn on its own listener, until SIGTERM or SIGINT."""
    import uvicorn

    sock = listener(host, port)
    config = uvicorn.Config(APP_FACTORY, factory=True, log_level=log_level)
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class _Child:
    process: BaseProcess
    started: float


def run(host: str, port: int, processes: int, *, log_level: str = "warning") -> None:
    """Serve the API from `processes` processes until SIGTERM or SIGINT; raise ServeError when
    the port is taken or a process fails to start."""
    ensure_free(host, port)
    context = multiprocessing.get_context("spawn")

    def start() -> _Child:
        process = context.Process(
            target=_answer, args=(host, port, log_level), name="proofwork-api", daemon=True
        )
        process.start()
        return _Child(process, time.monotonic())

    stop = threading.Event()
    with _stopping_on_signals(stop.set):
        children = [start() for _ in range(processes)]
        try:
            while not stop.wait(0.5):
                for index, child in enumerate(children):
                    if child.process.is_alive():
                        continue
                    exitcode = child.process.exitcode or 0
                    if exitcode > 0 and time.monotonic() - child.started < FAILED_START_S:
                        raise ServeError(
                            f"an API process failed to start (exit code {exitcode}); its "
                            "error is above"
                        )
                    how = f"signal {-exitcode}" if exitcode < 0 else f"exit code {exitcode}"
                    print(
                        f"proofwork serve: API process {child.process.pid} ended ({how}); "
                        "starting another",
                        file=sys.stderr,
                    )
                    children[index] = start()
        finally:
            _stop_all([child.process for child in children])


def _stop_all(processes: list[BaseProcess], grace_s: float = 30.0) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


@contextlib.contextmanager
def _stopping_on_signals(on_signal: Callable[[], None]) -> Iterator[None]:
    previous = {
        number: signal.signal(number, lambda *_: on_signal())
        for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
