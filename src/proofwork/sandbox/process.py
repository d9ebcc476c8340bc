"""Running one command with a deadline and capped output, shared by every backend."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from proofwork.sandbox.base import ExecResult, Limits

CHUNK = 65536


@dataclass
class _Capture:
    """Keeps the first `keep` bytes of a stream and counts the rest."""

    keep: int
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)


# bwrap's --die-with-parent is PR_SET_PDEATHSIG, which fires when the *thread* that started
# the process exits. A service started from a short-lived thread (a check restarting it)
# would be killed when that thread ends; one long-lived thread starts them all, so "parent
# death" means this grader process dying, as intended.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="proofwork-spawner")


def spawn(
    argv: list[str], *, stdin: int, env: dict[str, str], cwd: str | None
) -> subprocess.Popen[bytes]:
    """Popen from the long-lived spawner thread (see _SPAWNER)."""
    return _SPAWNER.submit(
        subprocess.Popen,
        argv,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=env,
        close_fds=True,
        cwd=cwd,
    ).result()


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (state, ppid …); [] when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return stat[stat.rindex(")") + 2 :].split()


def parent(pid: int) -> int:
    """A process's parent pid, or 0 when it is gone."""
    fields = _stat(pid)
    return int(fields[1]) if fields else 0


def state(pid: int) -> str:
    """A process's state letter (R, S, T for stopped …), or "" when it is gone."""
    fields = _stat(pid)
    return fields[0] if fields else ""


def comm(pid: int) -> str:
    """A process's command name, or "" when it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def process_group(pgid: int) -> list[int]:
    """Live members of a process group (what the unsafe backend can track)."""
    members = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in "ZX":
                members.append(int(entry.name))
    return members


class SandboxProcess:
    """A command started in a sandbox that the caller controls: signal, stop, kill, wait."""

    def __init__(
        self,
        execution: Execution,
        pids: Callable[[], list[int]],
        cleanup: Callable[[], None] = lambda: None,
        stopped: Callable[[], list[str]] = list,
        memory_in_use: Callable[[], int | None] = lambda: None,
        own_pids: bool = True,
    ) -> None:
        self.execution = execution
        self._pids = pids
        # Whether `pids` lists this command's processes only (a cgroup, a process group), not
        # every process of the sandbox's uid: what pausing one of two commands needs.
        self.own_pids = own_pids
        self._cleanup = cleanup
        self._stopped = stopped
        self.memory_in_use = memory_in_use  # the group's anonymous memory now, if known
        self._result: ExecResult | None = None

    def pids(self) -> list[int]:
        """The command's own processes (never the sandbox's init or bwrap itself)."""
        return [pid for pid in self._pids() if comm(pid) not in ("bwrap", "")]

    def top(self) -> int | None:
        """The command's first process (what argv started), while it runs."""
        launcher = self.execution.proc.pid
        for pid in self.pids():
            if pid == launcher or comm(parent(pid)) == "bwrap":
                return pid
        return None

    def signal(self, signum: int, spare: int | None = None) -> int:
        """Send a signal to every process of the command (but `spare`), as systemd would."""
        sent = 0
        for pid in self.pids():
            if pid == spare:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
                sent += 1
        return sent

    @property
    def running(self) -> bool:
        return self._result is None and self.execution.proc.poll() is None

    def output(self) -> tuple[bytes, bytes]:
        """Output so far (or final output once it has ended)."""
        if self._result is not None:
            return self._result.stdout, self._result.stderr
        return self.execution.output()

    def wait(self) -> ExecResult:
        """Wait for exit or the deadline, kill what is left, release its resources."""
        if self._result is None:
            try:
                self._result = self.execution.wait(extra_stopped=self._stopped)
            finally:
                self._cleanup()
        return self._result

    def pause(self, timeout_s: float = 2.0) -> bool:
        """SIGSTOP every process of the command, again for any forked meanwhile, until all
        are stopped; whether that held within `timeout_s`. A stopped process can neither run
        nor catch the signal: it uses no CPU and sends nothing until `resume`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            running = [pid for pid in self.pids() if state(pid) not in ("T", "t", "Z", "X", "")]
            if not running:
                return True
            for pid in running:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGSTOP)
            time.sleep(0.001)
        return False

    def resume(self) -> None:
        """SIGCONT every process of the command (after `pause`)."""
        self.signal(signal.SIGCONT)

    def stop(self, grace_s: float, spare: int | None = None) -> tuple[ExecResult, bool]:
        """SIGTERM (all but `spare`), SIGKILL after `grace_s`; the result, and whether the
        whole command exited by itself in time."""
        self.signal(signal.SIGTERM, spare=spare)
        clean = self.execution.exited(grace_s)
        if not clean:
            self.execution.stop()
        return self.wait(), clean

    def kill(self) -> ExecResult:
        """SIGKILL every process of the command at once (kill -9), then wait."""
        self.signal(signal.SIGKILL)
        return self.wait()


class Execution:
    """One started process tree: read its output, enforce its deadline, kill it all."""

    def __init__(
        self,
        argv: list[str],
        *,
        limits: Limits,
        display_argv: list[str],
        kill_tree: Callable[[], None],
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.limits = limits
        self.display_argv = display_argv
        self._kill_tree = kill_tree
        self._stopped: list[str] = []
        self._lock = threading.Lock()
        self.started = time.monotonic()
        self.proc = spawn(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            env=env if env is not None else {"PATH": "/usr/bin:/bin"},
            cwd=cwd,
        )
        self._captures = (_Capture(limits.output_bytes), _Capture(limits.output_bytes))
        if self.proc.stdout is None or self.proc.stderr is None:  # pragma: no cover - PIPE given
            raise RuntimeError("subprocess pipes were not created")
        self._readers = [
            threading.Thread(target=self._drain, args=(stream, cap), daemon=True)
            for stream, cap in zip(
                (self.proc.stdout, self.proc.stderr), self._captures, strict=True
            )
        ]
        for reader in self._readers:
            reader.start()
        if stdin is not None:
            self._feed(stdin)

    def _feed(self, data: bytes) -> None:
        if self.proc.stdin is None:  # pragma: no cover - PIPE given when stdin is not None
            return
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.write(data)
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.close()

    def _drain(self, stream: IO[bytes], capture: _Capture) -> None:
        # Keep reading past the cap so the writer never blocks on a full pipe, but stop the
        # whole command once it has flooded more than output_kill_bytes.
        fd = stream.fileno()
        while chunk := os.read(fd, CHUNK):
            room = capture.keep - len(capture.data)
            if room > 0:
                capture.data += chunk[:room]
            capture.total += len(chunk)
            if self.output_total > self.limits.output_kill_bytes:
                self.stop("output")
                break
        stream.close()

    @property
    def output_total(self) -> int:
        """Bytes written to stdout and stderr so far."""
        return sum(c.total for c in self._captures)

    def stop(self, reason: str | None = None) -> None:
        """Kill the whole process tree, recording which limit (if any) stopped it."""
        with self._lock:
            if reason and reason not in self._stopped:
                self._stopped.append(reason)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._kill_tree()

    def exited(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` (never past the deadline) and say whether it has exited."""
        remaining = self.limits.wall_s - (time.monotonic() - self.started)
        try:
            self.proc.wait(timeout=max(0.0, min(timeout_s, remaining)))
        except subprocess.TimeoutExpired:
            return False
        return True

    def output(self) -> tuple[bytes, bytes]:
        """What stdout and stderr have said so far (capped), while it runs."""
        out, err = self._captures
        return bytes(out.data), bytes(err.data)

    def wait(self, extra_stopped: Callable[[], list[str]] = list) -> ExecResult:
        """Wait for exit or the deadline, then clean up every process and return the result."""
        remaining = self.limits.wall_s - (time.monotonic() - self.started)
        try:
            self.proc.wait(timeout=max(0.0, remaining))
        except subprocess.TimeoutExpired:
            self.stop("timeout")
            self.proc.wait()
        wall = time.monotonic() - self.started
        # Whatever the command left behind (daemons, orphans) goes too.
        self.stop()
        for reader in self._readers:
            reader.join(timeout=5)
        for reason in extra_stopped():
            if reason not in self._stopped:
                self._stopped.append(reason)
        out, err = self._captures
        return ExecResult(
            argv=self.display_argv,
            exit_code=self.proc.returncode,
            stdout=bytes(out.data),
            stderr=bytes(err.data),
            wall_s=wall,
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            output_bytes=self.output_total,
            stopped=list(self._stopped),
        )


def read_capped(path: Path, limit: int) -> bytes | None:
    """Read a result file written by sandboxed code: never through a link, at most `limit` bytes.

    Returns None when the file is missing, not a regular file, a symlink, or too large.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        return handle.read(limit + 1)[:limit]
