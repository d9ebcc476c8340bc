"""The default backend: bubblewrap namespaces, a per-command cgroup, rlimits, an unprivileged uid.

Each command runs as `sh (joins cgroup) -> prlimit -> setpriv (drops to the run's uid) -> bwrap`.
bwrap unshares every namespace (the network namespace has loopback only), mounts a read-only
view of /usr and the runtime, the workspace as the one writable place, and a size-capped /tmp.
Its own pid namespace means no process can outlive the command: when bwrap's init dies, the
kernel kills the rest; the cgroup (or, without one, the run's own uid) is swept as well.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import time
from pathlib import Path

from proofwork.sandbox import cgroups
from proofwork.sandbox.base import (
    WORKSPACE,
    Limits,
    Mount,
    Sandbox,
    SandboxError,
)
from proofwork.sandbox.process import Execution, SandboxProcess

# Benign, public system files that ordinary programs expect to find.
ETC_READ_ONLY = (
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "mime.types",
    "ssl",
    "ca-certificates",
    "protocols",
    "services",
)
# Only the install phase, which may reach a package index, sees name resolution and pip config.
ETC_NETWORK = ("resolv.conf", "pip.conf", "gai.conf")
UID_SPAN = 1000
# Uids are a host-wide resource: every grader on this host leases them from one place,
# whatever its PROOFWORK_HOME, or two runs could share a uid and kill each other's processes.
UID_LOCKS = Path("/run/proofwork/uids")


def require_bwrap() -> str:
    """The bwrap binary, or a SandboxError that says how to get it."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxError(
            "bubblewrap (bwrap) is not installed: run `make setup` or `apt-get install bubblewrap`"
        )
    return path


class UidLease:
    """An exclusive uid for one sandbox, held through a lock file so runs never share one."""

    def __init__(self, lock_dir: Path, base: int) -> None:
        lock_dir.mkdir(parents=True, exist_ok=True)
        for uid in range(base, base + UID_SPAN):
            handle = (lock_dir / f"{uid}.lock").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            return
        raise SandboxError(f"all {UID_SPAN} sandbox uids from {base} are in use")

    def release(self) -> None:
        """Let another sandbox take this uid."""
        self._handle.close()


def kill_uid(uid: int, timeout_s: float = 10) -> int:
    """SIGKILL every process whose real uid is `uid`; return how many were found."""
    found = 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = [pid for pid in _pids_of(uid) if pid != os.getpid()]
        if not pids:
            break
        found += len(pids)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    return found


def _pids_of(uid: int) -> list[int]:
    """Live processes whose real uid is `uid`.

    Zombies are left out: a killed process stays one until the host's init reaps it, runs
    nothing, and no signal of ours can make it go faster.
    """
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = dict(
                line.split(":", 1) for line in Path(entry.path, "status").read_text().splitlines()
            )
            if int(fields["Uid"].split()[0]) == uid and fields["State"].split()[0] not in "ZX":
                pids.append(int(entry.name))
    return pids


class BwrapSandbox(Sandbox):
    """Runs commands for one workspace; use as a context manager so the uid is released."""

    name = "bwrap"

    def __init__(
        self, workspace: Path, state_dir: Path, *, uid_base: int = 61000, uid: int | None = None
    ) -> None:
        """A sandbox over `workspace`; pass `uid` to join one another sandbox already leased."""
        self.bwrap = require_bwrap()
        self.workspace = workspace
        self.state_dir = state_dir
        self.root = os.geteuid() == 0
        self.cgroups = cgroups.detect()
        joining = uid is not None
        self._lease = UidLease(UID_LOCKS, uid_base) if self.root and not joining else None
        self.uid = uid if uid is not None else (self._lease.uid if self._lease else os.getuid())
        self._etc = self._write_etc()
        if self.root and not joining:
            self._sweep()  # whatever a crashed earlier holder of this uid left behind
            self.give(workspace)

    def __enter__(self) -> BwrapSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill anything left of this sandbox's uid, remove its cgroups, release the uid."""
        if self._lease is not None:
            self._sweep()
            self._lease.release()
            self._lease = None

    def _sweep(self) -> None:
        # A harness process killed at its deadline never removes the groups of the service
        # it ran; the lease holder does, for every group named after its uid.
        kill_uid(self.uid)
        if self.cgroups is not None:
            self.cgroups.sweep(str(self.uid))

    def give(self, path: Path) -> None:
        """Hand a host folder to the sandbox uid so sandboxed code may write in it."""
        if not self.root:
            return
        os.chown(path, self.uid, self.uid, follow_symlinks=False)
        for parent, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(parent, name), self.uid, self.uid, follow_symlinks=False)

    def describe(self) -> dict[str, object]:
        """Isolation and limits really enforced on this host."""
        cg = self.cgroups
        via = f"cgroup {cg.version}" if cg else None
        enforced = {
            "wall_clock": "deadline, process tree killed",
            "output": "capped pipes",
            "file_size": "rlimit",
            "open_files": "rlimit",
            "core_dumps": "rlimit (disabled)",
            "tmp": "size-capped tmpfs",
            "memory": via if cg and "memory" in cg.enforced else "rlimit (address space)",
            "pids": via
            if cg and "pids" in cg.enforced
            else ("rlimit (nproc)" if self.root else None),
            "cpu": via if cg and "cpu" in cg.enforced else None,
            "cpu_pinning": via if cg and "cpuset" in cg.enforced else "taskset",
        }
        return {
            "backend": self.name,
            "bwrap": self.bwrap,
            "namespaces": ["user", "pid", "net (loopback only)", "ipc", "uts", "mount", "cgroup"],
            "uid": self.uid,
            "unprivileged": self.uid != 0,
            "cgroup": cg.version if cg else None,
            "limits_enforced": {k: v for k, v in enforced.items() if v},
            "limits_not_enforced": sorted(k for k, v in enforced.items() if not v),
        }

    def _write_etc(self) -> Path:
        etc = self.state_dir / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        files = {
            "passwd": f"root:x:0:0::/root:/bin/sh\nsandbox:x:{self.uid}:{self.uid}::/tmp:/bin/sh\n",
            "group": f"root:x:0:\nsandbox:x:{self.uid}:\n",
            "hosts": "127.0.0.1 localhost sandbox\n::1 localhost ip6-localhost\n",
            "hostname": "sandbox\n",
            "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
        }
        for name, text in files.items():
            (etc / name).write_text(text)
        return etc

    def bwrap_argv(
        self,
        argv: list[str],
        *,
        limits: Limits,
        env: dict[str, str],
        cwd: str,
        network: bool,
        mounts: tuple[Mount, ...],
    ) -> list[str]:
        """The bwrap command line for argv (without the launcher in front)."""
        args = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
        args += ["--clearenv", "--cap-drop", "ALL", "--hostname", "sandbox"]
        if network:
            args.append("--share-net")
        args += ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
        for link in ("bin", "lib", "lib64", "sbin"):
            args += ["--symlink", f"usr/{link}", f"/{link}"]
        args += ["--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]  # noqa: S108 - private tmpfs
        for name in ETC_READ_ONLY + (ETC_NETWORK if network else ()):
            if Path("/etc", name).exists():
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        for name in sorted(os.listdir(self._etc)):
            args += ["--ro-bind", str(self._etc / name), f"/etc/{name}"]
        args += ["--bind", str(self.workspace), WORKSPACE]
        for mount in mounts:
            args += ["--bind" if mount.writable else "--ro-bind", str(mount.source), mount.target]
        # The root itself is bwrap's scratch tmpfs: make it read-only too, so /tmp, the
        # workspace and writable mounts are the only places sandboxed code can write.
        args += ["--remount-ro", "/"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        args += ["--chdir", cwd, "--", *argv]
        return args

    def _launcher(self, limits: Limits, group: cgroups.Group | None) -> list[str]:
        rlimits = [
            f"--nofile={limits.open_files}",
            f"--fsize={limits.file_size_bytes}",
            "--core=0",
        ]
        enforced = self.cgroups.enforced if (self.cgroups and group) else ()
        if self.root:
            # With a uid of its own, nproc counts only this sandbox's processes. Where the
            # cgroup counts pids it stays the one that fires (its events say so), nproc a backstop.
            slack = 16 if "pids" in enforced else 0
            rlimits.append(f"--nproc={limits.pids + slack}")
        if "memory" not in enforced:
            # Address space is a crude memory limit, used only when no cgroup can do better.
            rlimits.append(f"--as={limits.memory_bytes * 2}")
        launcher = ["prlimit", *rlimits, "--"]
        if limits.cpuset is not None and "cpuset" not in enforced:
            launcher += ["taskset", "--cpu-list", limits.cpuset]
        if self.root:
            uid = str(self.uid)
            launcher += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        if group is not None:
            # The shell joins the cgroup before exec, so no child is ever born outside it.
            joins = " ".join(f'echo $$ > "{p}" &&' for p in group.procs_files())
            launcher = ["/bin/sh", "-c", f'{joins} exec "$@"', "sh", *launcher]
        return launcher

    def start(
        self,
        argv: list[str],
        *,
        limits: Limits,
        env: dict[str, str] | None = None,
        cwd: str = WORKSPACE,
        network: bool = False,
        mounts: tuple[Mount, ...] = (),
        stdin: bytes | None = None,
    ) -> SandboxProcess:
        """Start argv in a fresh sandbox and hand back control of it (for services)."""
        self._refuse_if_aborted()
        for mount in mounts:
            if mount.writable:
                self.give(mount.source)
        inner = self.bwrap_argv(
            argv, limits=limits, env=env or {}, cwd=cwd, network=network, mounts=mounts
        )
        group = self.cgroups.create(limits, str(self.uid)) if self.cgroups else None

        def cleanup() -> None:
            if group is not None:
                group.kill_all()
                group.remove()

        try:
            execution = Execution(
                [*self._launcher(limits, group), *inner],
                limits=limits,
                display_argv=argv,
                kill_tree=lambda: self._kill_tree(group),
                stdin=stdin,
            )
        except BaseException:
            cleanup()
            raise
        return self._started(
            SandboxProcess(
                execution,
                pids=(lambda: group.pids()) if group else (lambda: _pids_of(self.uid)),
                cleanup=cleanup,
                stopped=group.stopped if group else list,
                memory_in_use=group.memory_in_use if group else (lambda: None),
                own_pids=group is not None,
            )
        )

    def _kill_tree(self, group: cgroups.Group | None) -> None:
        # The pid namespace already takes every process down with bwrap's init; the cgroup
        # (or, lacking one, the uid) is swept too in case a process escaped that namespace.
        if group is not None:
            group.kill_all()
        elif self.root:
            kill_uid(self.uid, timeout_s=2)
