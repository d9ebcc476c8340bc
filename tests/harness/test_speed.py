"""The speed watcher: a real idle-priority process on a real core, read by step windows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from proofwork.harness.speed import SpeedWatch

HOG = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"


def _core() -> int:
    return sorted(os.sched_getaffinity(0))[-1]


def test_the_watcher_times_bursts_on_its_core_at_idle_priority() -> None:
    watch = SpeedWatch(_core())
    try:
        start = time.monotonic_ns()
        time.sleep(1.0)
        end = time.monotonic_ns()
        burst = watch.burst_ms(start, end)
        assert burst is not None and 0.01 < burst < 50
        assert os.sched_getscheduler(watch._process.pid) == os.SCHED_IDLE
        assert os.sched_getaffinity(watch._process.pid) == {watch.core}
        assert watch.cpu_seconds() > 0
        # A window before the watcher started holds no bursts: the speed is not known there.
        assert watch.burst_ms(start - 10**10, start - 10**9) is None
    finally:
        watch.close()
    assert watch._process.poll() is not None


def test_a_busy_core_still_leaves_the_watcher_enough_bursts_and_the_busy_work_its_core() -> None:
    core = _core()
    hog = subprocess.Popen(
        ["taskset", "--cpu-list", str(core), sys.executable, "-c", HOG.format(seconds=3)]
    )
    watch = SpeedWatch(core)
    try:
        time.sleep(0.3)
        start, before = time.monotonic_ns(), watch.cpu_seconds()
        time.sleep(2.0)
        assert watch.burst_ms(start, time.monotonic_ns()) is not None
        # Idle priority: the watcher got crumbs, the busy process nearly all of the core.
        assert watch.cpu_seconds() - before < 0.2
    finally:
        watch.close()
        hog.wait()


def test_a_watcher_whose_harness_was_killed_ends_on_its_own() -> None:
    code = (
        "import time\nfrom proofwork.harness.speed import SpeedWatch\n"
        f"w = SpeedWatch({_core()})\nprint(w._process.pid, flush=True)\ntime.sleep(60)\n"
    )
    harness = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert harness.stdout is not None
    watcher = int(harness.stdout.readline())
    time.sleep(0.3)
    harness.kill()  # as a harness killed at its deadline: nobody closes the watcher
    harness.wait()
    harness.stdout.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{watcher}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            break  # gone and reaped
        if state in ("Z", "X"):
            break  # exited, waiting for init to reap it
        time.sleep(0.05)
    else:
        raise AssertionError("the watcher kept running after its reader was killed")
