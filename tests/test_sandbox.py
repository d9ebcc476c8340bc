"""The bwrap sandbox against the isolation contract, with real processes and real limits."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sandboxing import LoopbackListener, sandbox_processes

from proofwork.sandbox import BwrapSandbox, Limits, Mount, UnsafeSandbox
from proofwork.sandbox.base import MiB
from proofwork.sandbox.cgroups import Group
from proofwork.sandbox.process import SandboxProcess, read_capped, state

PY = "/usr/bin/python3.11"
Factory = Callable[..., BwrapSandbox]


def py(code: str) -> list[str]:
    return [PY, "-c", code]


def test_it_runs_code_as_an_unprivileged_uid_with_no_capabilities(sandbox_factory: Factory) -> None:
    result = sandbox_factory().run(
        py(
            "import os; status = open('/proc/self/status').read()\n"
            "print(os.getuid(), status.split('CapEff:')[1].split()[0])"
        ),
        limits=Limits(wall_s=10),
    )
    uid, caps = result.text().split()
    assert result.ok
    assert int(uid) >= 1000
    assert int(caps, 16) == 0


def test_it_gives_the_workspace_as_the_only_writable_host_folder(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory({"a.txt": "hello"})
    code = """
import os
print(open('/workspace/a.txt').read())
open('/workspace/b.txt', 'w').write('written')
for path in ('/usr/evil', '/etc/evil', '/evil'):
    try:
        open(path, 'w')
        print('WROTE', path)
    except OSError:
        pass
"""
    result = sandbox.run(py(code), limits=Limits(wall_s=10))
    assert result.ok, result.text("stderr")
    assert "hello" in result.text()
    assert "WROTE" not in result.text()
    assert (sandbox.workspace / "b.txt").read_text() == "written"


def test_it_hides_the_hosts_files_environment_and_home(
    sandbox_factory: Factory, workdir: Path
) -> None:
    planted = workdir / "planted-secret.txt"
    planted.write_text("TOP-SECRET")
    planted.chmod(0o644)
    os.environ["PROOFWORK_TEST_HOST_SECRET"] = "HOST-ENV-SECRET"
    code = f"""
import os
print(sorted(os.environ))
for path in ({str(planted)!r}, '/root', '/home', '/var/lib/proofwork', '/etc/shadow'):
    print(path, os.path.exists(path))
"""
    try:
        result = sandbox_factory().run(py(code), limits=Limits(wall_s=10), env={"A": "1"})
    finally:
        del os.environ["PROOFWORK_TEST_HOST_SECRET"]
    out = result.text()
    assert "HOST-ENV-SECRET" not in out and "PROOFWORK_TEST_HOST_SECRET" not in out
    assert out.count(" False") == 5, out


def test_it_blocks_the_hosts_loopback_network(sandbox_factory: Factory) -> None:
    with LoopbackListener() as listener:
        code = f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {listener.port}), timeout=2)
    print('CONNECTED')
except OSError as exc:
    print('BLOCKED', type(exc).__name__)
"""
        result = sandbox_factory().run(py(code), limits=Limits(wall_s=10))
    assert "BLOCKED" in result.text(), result.text()
    assert listener.accepted == []


def test_it_stops_a_command_at_its_deadline_and_kills_its_children(
    sandbox_factory: Factory,
) -> None:
    sandbox = sandbox_factory()
    started = time.monotonic()
    result = sandbox.run(
        ["/bin/sh", "-c", "sleep 1000 & sleep 1000 & while :; do :; done"], limits=Limits(wall_s=1)
    )
    assert time.monotonic() - started < 5
    assert result.timed_out
    assert sandbox_processes(sandbox.uid) == []


def test_it_stops_a_memory_bomb_with_the_memory_limit(sandbox_factory: Factory) -> None:
    code = "chunks = []\nwhile True: chunks.append(bytearray(50 * 1024 * 1024))"
    result = sandbox_factory().run(py(code), limits=Limits(wall_s=20, memory_bytes=200 * MiB))
    assert not result.ok
    assert "memory" in result.stopped or "MemoryError" in result.text("stderr")


def test_it_caps_a_flood_of_output(sandbox_factory: Factory) -> None:
    code = "import sys\nwhile True: sys.stdout.buffer.write(b'x' * 1048576)"
    limits = Limits(wall_s=20, output_bytes=4096, output_kill_bytes=32 * MiB)
    result = sandbox_factory().run(py(code), limits=limits)
    assert result.stopped == ["output"]
    assert len(result.stdout) == 4096 and result.stdout_truncated


def test_it_limits_processes_so_a_fork_bomb_hits_the_ceiling(sandbox_factory: Factory) -> None:
    code = """
import os, time
count = 0
try:
    for _ in range(10000):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        count += 1
except OSError:
    print('REFUSED after', count)
"""
    sandbox = sandbox_factory()
    result = sandbox.run(py(code), limits=Limits(wall_s=20, pids=32))
    assert "REFUSED after" in result.text(), result.text("stderr")
    assert int(result.text().split()[-1]) < 32
    assert "pids" in result.stopped
    assert sandbox_processes(sandbox.uid) == []


def test_it_leaves_no_cgroups_or_processes_behind(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory()
    assert sandbox.cgroups is not None
    created: list[Group] = []
    create = sandbox.cgroups.create

    def recording(*args: Any, **kwargs: Any) -> Group:
        created.append(create(*args, **kwargs))
        return created[-1]

    sandbox.cgroups.create = recording  # type: ignore[method-assign]
    sandbox.run(["/bin/sh", "-c", "sleep 100 &"], limits=Limits(wall_s=5))
    # Only this command's groups: other graders on the host may have groups of their own.
    assert len(created) == 1
    assert [f.parent for f in created[0].procs_files() if f.parent.exists()] == []
    assert sandbox_processes(sandbox.uid) == []


def test_it_mounts_extra_folders_read_only_unless_writable(
    sandbox_factory: Factory, workdir: Path
) -> None:
    ro, rw = workdir / "ro", workdir / "rw"
    for path in (ro, rw):
        path.mkdir()
        path.chmod(0o755)
    (ro / "data").write_text("ro")
    code = """
open('/out/result', 'w').write(open('/in/data').read())
try:
    open('/in/new', 'w')
except OSError:
    print('READ-ONLY')
"""
    mounts = (Mount(ro, "/in"), Mount(rw, "/out", writable=True))
    result = sandbox_factory().run(py(code), limits=Limits(wall_s=10), mounts=mounts)
    assert "READ-ONLY" in result.text(), result.text("stderr")
    assert read_capped(rw / "result", 100) == b"ro"


def test_read_capped_refuses_links_and_oversized_files(workdir: Path) -> None:
    (workdir / "big").write_bytes(b"x" * 200)
    (workdir / "link").symlink_to("/etc/passwd")
    assert read_capped(workdir / "big", 100) is None
    assert read_capped(workdir / "link", 10_000) is None
    assert read_capped(workdir / "missing", 10) is None


def test_it_describes_which_limits_it_really_enforces(sandbox_factory: Factory) -> None:
    info = sandbox_factory().describe()
    assert info["backend"] == "bwrap"
    enforced = info["limits_enforced"]
    assert isinstance(enforced, dict)
    assert {"wall_clock", "output", "memory", "pids"} <= set(enforced)


@pytest.mark.parametrize("network", [False, True])
def test_unsafe_backend_translates_sandbox_paths(workdir: Path, network: bool) -> None:
    (workdir / "f.txt").write_text("here")
    result = UnsafeSandbox(workdir).run(
        ["/bin/cat", "/workspace/f.txt"], limits=Limits(wall_s=5), network=network
    )
    assert result.text() == "here"
    assert UnsafeSandbox(workdir).describe()["warning"]


SERVICE = """
import signal, sys, time
def bye(*_):
    print('draining', flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
print('up', flush=True)
while True:
    time.sleep(0.05)
"""


def wait_for(predicate: Callable[[], bool], timeout_s: float = 5) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_started_service_stops_cleanly_on_sigterm(sandbox_factory: Factory) -> None:
    service = sandbox_factory().start(py(SERVICE), limits=Limits(wall_s=30))
    assert wait_for(lambda: b"up" in service.output()[0])
    assert service.running
    result, clean = service.stop(grace_s=5)
    assert clean
    assert result.exit_code == 0
    assert "draining" in result.text()


def test_a_service_that_ignores_sigterm_is_killed_after_the_grace(sandbox_factory: Factory) -> None:
    code = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\ntime.sleep(60)"
    )
    sandbox = sandbox_factory()
    service = sandbox.start(py(code), limits=Limits(wall_s=30))
    assert wait_for(lambda: b"up" in service.output()[0])
    started = time.monotonic()
    result, clean = service.stop(grace_s=0.5)
    assert not clean
    assert time.monotonic() - started < 5
    assert result.exit_code != 0
    assert sandbox_processes(sandbox.uid) == []


def test_kill_stops_every_process_of_a_service_at_once(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory()
    service = sandbox.start(
        ["/bin/sh", "-c", "sleep 60 & sleep 60 & echo up; wait"], limits=Limits(wall_s=30)
    )
    assert wait_for(lambda: b"up" in service.output()[0])
    assert len(service.pids()) >= 3
    result = service.kill()
    assert result.exit_code != 0
    assert sandbox_processes(sandbox.uid) == []


def test_a_service_started_from_a_short_lived_thread_outlives_the_thread(
    sandbox_factory: Factory,
) -> None:
    # bwrap's --die-with-parent follows the starting *thread*; a harness check that restarts
    # a service runs in a thread of its own that ends right after.
    sandbox = sandbox_factory()
    started: list[object] = []
    thread = threading.Thread(
        target=lambda: started.append(sandbox.start(py(SERVICE), limits=Limits(wall_s=30)))
    )
    thread.start()
    thread.join()
    service = started[0]
    assert isinstance(service, SandboxProcess)
    assert wait_for(lambda: b"up" in service.output()[0])
    time.sleep(0.5)
    assert service.running
    result, clean = service.stop(grace_s=5)
    assert clean and result.exit_code == 0


DRAINING = """
import signal, sys, time
def bye(*_):
    time.sleep(0.5)  # finish in-flight work
    print('drained', flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
print('up', flush=True)
while True:
    time.sleep(0.05)
"""


def test_a_service_behind_a_shell_drains_when_the_shell_is_spared(
    sandbox_factory: Factory, workdir: Path
) -> None:
    sandbox = sandbox_factory({"service.py": DRAINING})
    service = sandbox.start(["/bin/sh", "-c", f"{PY} service.py"], limits=Limits(wall_s=30))
    assert wait_for(lambda: b"up" in service.output()[0])
    result, clean = service.stop(grace_s=5, spare=service.top())
    assert clean
    assert "drained" in result.text()


def test_a_command_can_be_pinned_to_a_core(sandbox_factory: Factory) -> None:
    code = "print(open('/proc/self/status').read().split('Cpus_allowed_list:')[1].split()[0])"
    core = str(max(os.sched_getaffinity(0)))
    result = sandbox_factory().run(py(code), limits=Limits(wall_s=10, cpuset=core))
    assert result.text().strip() == core


def test_closing_a_sandbox_sweeps_groups_a_crashed_harness_left(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory()
    assert sandbox.cgroups is not None
    leaked = sandbox.cgroups.create(Limits(), str(sandbox.uid))  # as if its harness died
    folders = [f.parent for f in leaked.procs_files()]
    assert all(folder.exists() for folder in folders)
    sandbox.close()
    assert not any(folder.exists() for folder in folders)


TICKING = """
import os, sys, time
if os.fork() == 0:  # a child of its own: pausing the command must stop it too
    while True:
        print('child', time.monotonic(), flush=True)
        time.sleep(0.01)
while True:
    print('parent', time.monotonic(), flush=True)
    time.sleep(0.01)
"""


def test_a_paused_command_runs_no_process_of_its_own_until_resumed(
    sandbox_factory: Factory,
) -> None:
    sandbox = sandbox_factory({"ticking.py": TICKING})
    other = sandbox.start(py("import time\nwhile True: time.sleep(0.01)"), limits=Limits(wall_s=30))
    service = sandbox.start(["/bin/sh", "-c", f"{PY} ticking.py"], limits=Limits(wall_s=30))
    assert service.own_pids  # its cgroup tells its processes from the other command's
    assert wait_for(lambda: b"child" in service.output()[0] and b"parent" in service.output()[0])
    assert service.pause()
    states = {pid: state(pid) for pid in service.pids()}
    assert len(states) >= 3 and set(states.values()) == {"T"}, states  # sh, python, its child
    assert all(state(pid) != "T" for pid in other.pids())  # the other command runs on
    paused = len(service.output()[0])
    time.sleep(0.3)
    assert len(service.output()[0]) == paused
    service.resume()
    assert wait_for(lambda: {b"child", b"parent"} <= set(service.output()[0][paused:].split()))
    service.kill()
    other.kill()
