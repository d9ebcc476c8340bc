"""Hostile submissions graded end to end: the run ends in time, the host is untouched.

Each submission is a tiny project whose "test" attacks the grader. For every one we check
that the grade finishes within its deadline, that planted host files are neither read
(their atime is set back so that any read would move it) nor modified, that no process of
the sandbox is left, and that the report says what happened.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sandboxing import LoopbackListener, leftover_cgroups, sandbox_processes

from proofwork.config import Settings
from proofwork.engine import GradeError, GradeRequest, grade
from proofwork.evidence import Evidence, Report

pytestmark = pytest.mark.slow

BUDGET_S = 20.0
SLACK_S = 15.0  # intake, runtime look-up, cleanup: well under this


class Planted:
    """A world-readable host file that sandboxed code must neither read nor change."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir()
        folder.chmod(0o755)
        self.folder = folder
        self.path = folder / "host-secret.txt"
        self.path.write_text("HOST-SECRET-7f3a")
        self.path.chmod(0o644)
        stat = self.path.stat()
        # relatime moves atime on a read whenever atime is older than mtime.
        os.utime(self.path, ns=(stat.st_mtime_ns - 2 * 86400 * 10**9, stat.st_mtime_ns))
        self.before = self._state()

    def _state(self) -> tuple[int, int, str, list[str]]:
        stat = self.path.stat()
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest()
        # Reading for the digest moves atime, so take it from the stat above.
        os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        return stat.st_atime_ns, stat.st_mtime_ns, digest, sorted(os.listdir(self.folder))

    def untouched(self) -> bool:
        return self._state() == self.before


@pytest.fixture
def planted(workdir: Path) -> Planted:
    return Planted(workdir / "host")


Grader = Callable[..., tuple[Report, float]]


@pytest.fixture
def grade_project(workdir: Path, settings: Settings) -> Iterator[Grader]:
    """Writes a one-test project and grades it (tests probe only), keeping the workspace."""
    kept: list[Path] = []

    def run(test_code: str, name: str = "evil") -> tuple[Report, float]:
        project = workdir / name
        (project / "tests").mkdir(parents=True)
        (project / "tests" / "test_evil.py").write_text(test_code)
        started = time.monotonic()
        report = grade(
            GradeRequest(
                source=project,
                settings=settings,
                probes=["tests"],
                budget_s=BUDGET_S,
                keep_workspace=True,
            )
        )
        kept.append(Path(report.environment["run_dir"]))
        return report, time.monotonic() - started

    yield run
    for run_dir in kept:
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)


def suite_evidence(report: Report) -> Evidence:
    return next(e for e in report.evidence if e.probe == "tests")


def workspace_of(report: Report) -> Path:
    return Path(report.environment["run_dir"]) / "workspace"


def assert_contained(report: Report, elapsed: float) -> None:
    assert elapsed < BUDGET_S + SLACK_S
    uid = report.sandbox["uid"]
    assert isinstance(uid, int)
    assert sandbox_processes(uid) == []
    assert leftover_cgroups(uid) == []


def test_a_fork_bomb_is_held_at_the_process_limit_and_killed(grade_project: Grader) -> None:
    report, elapsed = grade_project(
        "import os\n\ndef test_bomb():\n    while True:\n        try:\n"
        "            os.fork()\n        except OSError:\n            pass\n"
    )
    evidence = suite_evidence(report)
    assert_contained(report, elapsed)
    assert "timeout" in evidence.stopped
    assert "pids" in evidence.stopped
    assert evidence.status.value == "timeout"


def test_a_memory_bomb_is_killed_by_the_memory_limit(grade_project: Grader) -> None:
    report, elapsed = grade_project(
        "def test_bomb():\n    hoard = []\n    while True:\n"
        "        hoard.append(bytearray(64 * 1024 * 1024))\n"
    )
    evidence = suite_evidence(report)
    assert_contained(report, elapsed)
    assert "memory" in evidence.stopped
    assert evidence.status.value == "error"
    assert "memory" in (evidence.error or "")


def test_an_infinite_loop_is_stopped_at_the_deadline(grade_project: Grader) -> None:
    report, elapsed = grade_project("def test_spin():\n    while True:\n        pass\n")
    evidence = suite_evidence(report)
    assert_contained(report, elapsed)
    assert evidence.stopped == ["timeout"]
    assert "did not finish" in (evidence.error or "")


FLOOD = """
import os, stat

def test_flood():
    # pytest captures fds 1 and 2, so also aim at every pipe the process holds: one of them
    # is the grader's own stdout, saved by pytest's capture.
    pipes = [fd for fd in range(256) if _is_pipe(fd)] + [1, 2]
    chunk = b"x" * (1 << 20)
    for _ in range(1024):  # 1 GiB to each
        for fd in pipes:
            try:
                os.write(fd, chunk)
            except OSError:
                pass

def _is_pipe(fd):
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False
"""


def test_a_gigabyte_of_output_is_capped_and_stopped(grade_project: Grader) -> None:
    report, elapsed = grade_project(FLOOD)
    evidence = suite_evidence(report)
    assert_contained(report, elapsed)
    assert "output" in evidence.stopped
    assert len(evidence.artifacts["pytest.log"]) <= 128 * 1024


def test_the_hosts_loopback_is_unreachable(grade_project: Grader) -> None:
    with LoopbackListener() as listener:
        report, elapsed = grade_project(
            "import socket\n\ndef test_phone_home():\n"
            f"    address = ('127.0.0.1', {listener.port})\n"
            "    socket.create_connection(address, timeout=3).sendall(b'hi')\n"
        )
    assert_contained(report, elapsed)
    assert listener.accepted == []
    assert report.metrics["tests.failed"] == 1
    failure = next(f for f in report.findings if f.rule == "tests.failed")
    assert "ConnectionRefusedError" in (failure.snippet or "")


def test_a_host_file_outside_the_workspace_is_not_read(
    grade_project: Grader, planted: Planted
) -> None:
    report, elapsed = grade_project(
        "import os\n\ndef test_steal():\n"
        f"    seen = []\n    for path in ({str(planted.path)!r}, '/root', '/var/lib/proofwork',"
        " '/etc/shadow', '/proc/1/root/etc/shadow'):\n"
        "        try:\n            seen.append(open(path).read())\n"
        "        except OSError as exc:\n            seen.append(type(exc).__name__)\n"
        "    open('/workspace/seen.txt', 'w').write(repr(seen))\n"
        "    assert 'HOST-SECRET' in repr(seen)\n"
    )
    assert_contained(report, elapsed)
    assert planted.untouched()
    seen = (workspace_of(report) / "seen.txt").read_text()
    assert "HOST-SECRET-7f3a" not in seen
    assert "FileNotFoundError" in seen
    assert "HOST-SECRET-7f3a" not in str(report.to_json())
    assert report.metrics["tests.failed"] == 1


def test_writes_outside_the_workspace_never_reach_the_host(
    grade_project: Grader, planted: Planted
) -> None:
    targets = [
        str(planted.path),
        str(planted.folder / "new.txt"),
        "/usr/local/evil.txt",
        "/etc/evil",
    ]
    report, elapsed = grade_project(
        "def test_vandalise():\n    wrote = []\n"
        f"    for path in {targets!r}:\n"
        "        try:\n            open(path, 'w').write('pwned')\n            wrote.append(path)\n"
        "        except OSError:\n            pass\n"
        "    assert wrote\n"
    )
    assert_contained(report, elapsed)
    assert planted.untouched()
    assert not Path("/usr/local/evil.txt").exists()
    assert not Path("/etc/evil").exists()
    assert report.metrics["tests.failed"] == 1


DAEMON = """
import os, time

def test_escape():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                with open("/workspace/heartbeat", "w") as beat:
                    beat.write(str(time.time()))
                time.sleep(0.05)
        os._exit(0)
    time.sleep(0.5)
"""


def test_a_daemon_does_not_outlive_the_run(grade_project: Grader) -> None:
    report, elapsed = grade_project(DAEMON)
    assert_contained(report, elapsed)
    assert report.metrics["tests.passed"] == 1
    beat = workspace_of(report) / "heartbeat"
    assert beat.exists()  # the daemon did start
    first = beat.stat().st_mtime_ns
    time.sleep(0.5)
    assert beat.stat().st_mtime_ns == first


def test_a_zip_slip_archive_is_refused_and_writes_nothing(
    workdir: Path, settings: Settings, planted: Planted
) -> None:
    archive = workdir / "slip.zip"
    escape = os.path.relpath(planted.folder / "slipped.py", "/")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("project/tests/test_ok.py", "def test_ok():\n    pass\n")
        zf.writestr("../" * 12 + escape, "pwned = True\n")
    with pytest.raises(GradeError, match="refused"):
        grade(GradeRequest(source=archive, settings=settings, probes=["tests"], budget_s=BUDGET_S))
    assert planted.untouched()
    assert not (planted.folder / "slipped.py").exists()


def test_an_archive_linking_to_a_host_file_is_refused(
    workdir: Path, settings: Settings, planted: Planted
) -> None:
    archive = workdir / "link.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        link = tarfile.TarInfo("project/secret.txt")
        link.type = tarfile.SYMTYPE
        link.linkname = str(planted.path)
        tf.addfile(link)
        test = b"def test_read():\n    print(open('secret.txt').read())\n"
        info = tarfile.TarInfo("project/tests/test_read.py")
        info.size = len(test)
        tf.addfile(info, io.BytesIO(test))
    with pytest.raises(GradeError, match="refused"):
        grade(GradeRequest(source=archive, settings=settings, probes=["tests"], budget_s=BUDGET_S))
    assert planted.untouched()


SOURCE = "def clamp(x, low, high):\n    if x < low:\n        return low\n    return min(x, high)\n"
GOOD_TESTS = (
    "from calc import clamp\n\n\ndef test_low():\n    assert clamp(-1, 0, 3) == 0\n\n\n"
    "def test_high():\n    assert clamp(5, 0, 3) == 3\n"
)
HANGS = {
    "spin": "def test_spin():\n    while True:\n        pass\n",
    "fork-bomb": (
        "import os\n\n\ndef test_bomb():\n    while True:\n        try:\n"
        "            os.fork()\n        except OSError:\n            pass\n"
    ),
    "import-hang": "while True:\n    pass\n\n\ndef test_never():\n    pass\n",
}
DEFAULT_GRADE_S = 120.0  # what a user may wait for a two-line repository, whatever it does


@pytest.mark.parametrize("kind", sorted(HANGS))
def test_a_hanging_suite_is_graded_completely_with_default_settings(
    workdir: Path, settings: Settings, kind: str
) -> None:
    project = workdir / kind
    (project / "tests").mkdir(parents=True)
    (project / "calc.py").write_text(SOURCE)
    (project / "tests" / "test_calc.py").write_text(GOOD_TESTS)
    (project / "tests" / "test_evil.py").write_text(HANGS[kind])
    started = time.monotonic()
    report = grade(GradeRequest(source=project, settings=settings))
    elapsed = time.monotonic() - started
    assert elapsed < DEFAULT_GRADE_S
    by_probe = {e.probe: e for e in report.evidence}
    for probe in ("tests", "mutation", "static", "security"):
        assert by_probe[probe].status.value == "ok", (probe, by_probe[probe].error)
    metrics = report.metrics
    assert metrics["tests.passed"] == 2  # the rest of the suite ran and was counted
    assert metrics["mutation.killed"] >= 1
    stopped = [f for f in report.findings if f.rule == "tests.timeout"]
    assert len(stopped) == 1
    assert stopped[0].path == "tests/test_evil.py"
    if kind == "import-hang":
        assert metrics["tests.collection_timeouts"] == 1
        assert metrics["tests.errors"] == 1
        assert "Importing tests/test_evil.py took longer than 30s" in stopped[0].message
    else:
        assert metrics["tests.timeouts"] == 1
        assert metrics["tests.failed"] == 1
        assert "Test stopped after 30s" in stopped[0].message
        assert "while True" in (stopped[0].snippet or "")  # the stack it was stuck in
    if kind == "fork-bomb":
        assert "pids" in by_probe["tests"].stopped
        assert int(str(metrics["tests.processes_killed"])) > 100
        assert "processes it left running were killed" in stopped[0].message
    uid = report.sandbox["uid"]
    assert isinstance(uid, int)
    assert sandbox_processes(uid) == []
    assert leftover_cgroups(uid) == []


MARKED = """
import time

import pytest


@pytest.mark.timeout(600)
def test_asks_for_ten_minutes():
    while True:
        pass


@pytest.mark.timeout(1)
def test_keeps_its_own_shorter_limit():
    time.sleep(3)


def test_fine():
    pass
"""


def test_a_per_run_limit_caps_a_tests_own_longer_timeout_and_keeps_a_shorter_one(
    workdir: Path, settings: Settings
) -> None:
    project = workdir / "marked"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_marked.py").write_text(MARKED)
    quick = settings.model_copy(update={"test_timeout_s": 2.5})
    started = time.monotonic()
    report = grade(GradeRequest(source=project, settings=quick, probes=["tests"]))
    assert time.monotonic() - started < 40
    metrics = report.metrics
    assert (metrics["tests.passed"], metrics["tests.failed"], metrics["tests.timeouts"]) == (
        1,
        2,
        2,
    )
    stopped = {
        f.message.split("::")[-1]: f.message for f in report.findings if f.rule == "tests.timeout"
    }
    assert "after 2.5s" in stopped["test_asks_for_ten_minutes; the rest of the suite ran."]
    assert "after 1s" in stopped["test_keeps_its_own_shorter_limit; the rest of the suite ran."]
