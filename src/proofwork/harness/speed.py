"""How fast a core runs right now, measured while the load test runs on it.

On a shared host (a virtual machine whose neighbours come and go) the same core runs the same
code up to twice as slowly from one second to the next, and /proc/stat does not show it: no
other process takes the time, the core is just slower. A throughput figure taken in a slow
second says as much about the neighbours as about the code.

So a watcher process sits on each of the load job's cores (the service's, the harness's) at
the lowest priority there is (SCHED_IDLE: any other task preempts it at once) and runs a fixed
burst of work whenever the core has a moment, timing each burst by its own CPU time, so time
spent waiting for the core does not count. The median burst time over a step says how fast the
core ran during that step; steps on a core that ran slow are left out of the capacity figure
(scaling them by the speed measured this way over-corrects: a web service slows down less than
the burst does). A busy core leaves the watcher only crumbs of its time (well under 1%), still
dozens of bursts a step.

    python -m proofwork.harness.speed CORE    # the watcher: writes one record per burst
"""

from __future__ import annotations

import json
import os
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RECORD = struct.Struct("<QQ")  # when the burst ended (CLOCK_MONOTONIC ns), its CPU time (ns)
FLUSH_EVERY_NS = 50_000_000
MIN_BURSTS = 5  # fewer in a window and its speed is not known
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The two cores' burst times as load steps carry them: the service's, the harness's.
BURST_KEYS = ("burst_ms", "harness_burst_ms")


def burst() -> int:
    """A fixed piece of work of the kind a Python web service does: encoding and decoding
    JSON, formatting strings, dictionary traffic (about half a millisecond on a quiet core)."""
    total = 0
    for n in range(80):
        body = json.dumps({"sku": f"SKU-{n:05d}", "quantity": n % 7, "note": "x" * (n % 11)})
        data = json.loads(body)
        total += len(f"{data['sku']}:{data['quantity']}".split(":")) + len(data)
    return total


def watch(core: int) -> None:
    """The watcher: on `core`, at idle priority, bursts until its output is closed."""
    os.sched_setaffinity(0, {core})
    os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    pending = bytearray()
    flushed = time.monotonic_ns()
    while True:
        started = time.thread_time_ns()
        burst()
        now = time.monotonic_ns()
        pending += RECORD.pack(now, time.thread_time_ns() - started)
        if now - flushed >= FLUSH_EVERY_NS:
            try:
                os.write(1, pending)
            except OSError:  # the reader has gone: so does the watcher
                return
            pending.clear()
            flushed = now


class SpeedWatch:
    """Runs the watcher on one core and keeps its records, for the step windows to read."""

    def __init__(self, core: int) -> None:
        self.core = core
        self._records: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "proofwork.harness.speed", str(core)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def for_cores(cls, cores: str) -> SpeedWatch | None:
        """A watcher on the first of `cores` ("0" or "0,1"); None when there are none or the
        host refuses the watcher."""
        if not cores:
            return None
        try:
            return cls(int(cores.split(",")[0]))
        except (OSError, ValueError):
            return None

    def _read(self) -> None:
        if self._process.stdout is None:
            return
        fd = self._process.stdout.fileno()
        leftover = b""
        while chunk := os.read(fd, 65536):
            data = leftover + chunk
            whole = len(data) - len(data) % RECORD.size
            records = [RECORD.unpack_from(data, at) for at in range(0, whole, RECORD.size)]
            leftover = data[whole:]
            with self._lock:
                self._records.extend(records)

    def burst_ms(self, start_ns: int, end_ns: int) -> float | None:
        """The median burst's CPU time (ms) between two CLOCK_MONOTONIC instants, or None when
        too few bursts ran in between to tell."""
        with self._lock:
            inside = [cpu for at, cpu in self._records if start_ns <= at <= end_ns]
        if len(inside) < MIN_BURSTS:
            return None
        return round(statistics.median(inside) / 1e6, 4)

    def cpu_seconds(self) -> float:
        """CPU time the watcher has used so far (its core's owner did not use it)."""
        return process_cpu_seconds(f"/proc/{self._process.pid}")

    def close(self) -> None:
        """Stop the watcher and its reader."""
        self._process.kill()
        self._process.wait()
        self._reader.join(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()


def process_cpu_seconds(proc_dir: str) -> float:
    """User and system CPU seconds of the process at `proc_dir` (/proc/PID); 0 once it is gone."""
    try:
        fields = Path(proc_dir, "stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0.0


def plus_watcher(own_cpu: Callable[[], float], watcher: SpeedWatch | None) -> Callable[[], float]:
    """A core owner's CPU seconds with the watcher's on its core added: the watcher's crumbs of
    time are not other work."""
    if watcher is None:
        return own_cpu
    return lambda: own_cpu() + watcher.cpu_seconds()


def fastest_bursts(steps: list[dict[str, Any]]) -> dict[str, float | None]:
    """Per core, the shortest median burst of any step: the speed other steps are held to."""
    return {key: min((s[key] for s in steps if s.get(key)), default=None) for key in BURST_KEYS}


if __name__ == "__main__":
    watch(int(sys.argv[1]))
