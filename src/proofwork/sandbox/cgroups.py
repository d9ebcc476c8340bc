"""Per-command control groups: limits, what was hit, and killing every process inside.

Hosts differ: our build machines have cgroup v1 controllers that root can create sub-groups
in; many production hosts have cgroup v2 only. `detect()` finds which one works here and
says which limits it can really enforce; with neither, the sandbox falls back to rlimits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from proofwork.sandbox.base import Limits

ROOT = Path("/sys/fs/cgroup")
PARENT = "proofwork"
CFS_PERIOD_US = 100_000


class Group(Protocol):
    def procs_files(self) -> list[Path]:
        """The cgroup.procs files a new process must write its pid into."""
        ...

    def stopped(self) -> list[str]:
        """Which limits were hit: "memory" (an OOM kill), "pids" (a fork was refused)."""
        ...

    def pids(self) -> list[int]:
        """Every process in the group."""
        ...

    def memory_in_use(self) -> int | None:
        """Anonymous memory the group holds now, in bytes: what its processes allocated, not
        the page cache of files they read (None without a memory controller)."""
        ...

    def kill_all(self) -> None:
        """Kill every process in the group and wait until it is empty."""
        ...

    def remove(self) -> None:
        """Delete the group (after kill_all)."""
        ...


class Controller(Protocol):
    version: str
    enforced: tuple[str, ...]

    def create(self, limits: Limits, owner: str) -> Group:
        """A fresh group with these limits applied, named after its owner (the sandbox uid)."""
        ...

    def sweep(self, owner: str) -> int:
        """Kill and remove every group of `owner` (left by a crashed harness); how many."""
        ...


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _field(text: str, key: str) -> int:
    """The integer after `key` in a flat-keyed cgroup file (`oom_kill 3`), or 0."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == key and parts[1].isdigit():
            return int(parts[1])
    return 0


def _pids(procs_files: list[Path]) -> set[int]:
    found: set[int] = set()
    for procs in procs_files:
        found.update(int(p) for p in _read(procs).split() if p.isdigit())
    return found


def _kill_until_empty(procs_files: list[Path], freeze: Path | None, timeout_s: float = 10) -> None:
    # Freezing first stops a fork bomb from outrunning the kill loop.
    deadline = time.monotonic() + timeout_s
    while (pids := _pids(procs_files)) and time.monotonic() < deadline:
        if freeze is not None:
            with contextlib.suppress(OSError):
                _write(freeze, "FROZEN")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if freeze is not None:
            with contextlib.suppress(OSError):
                _write(freeze, "THAWED")
        time.sleep(0.01)


@dataclass
class V1Group:
    dirs: dict[str, Path]

    def procs_files(self) -> list[Path]:
        """cgroup.procs of every controller's group."""
        return [d / "cgroup.procs" for d in self.dirs.values()]

    def pids(self) -> list[int]:
        """Every process in the group."""
        return sorted(_pids(self.procs_files()))

    def stopped(self) -> list[str]:
        """Limits hit, read from the memory and pids controllers' event counters."""
        hit = []
        if "memory" in self.dirs:
            oom = _read(self.dirs["memory"] / "memory.oom_control")
            if _field(oom, "oom_kill") > 0:
                hit.append("memory")
        if "pids" in self.dirs and _field(_read(self.dirs["pids"] / "pids.events"), "max") > 0:
            hit.append("pids")
        return hit

    def memory_in_use(self) -> int | None:
        """total_rss of the memory controller's memory.stat."""
        if "memory" not in self.dirs:
            return None
        stat = _read(self.dirs["memory"] / "memory.stat")
        return _field(stat, "total_rss") + _field(stat, "total_rss_huge") if stat else None

    def kill_all(self) -> None:
        """Freeze, kill and thaw until no process is left."""
        freezer = self.dirs.get("freezer")
        _kill_until_empty(self.procs_files(), freezer / "freezer.state" if freezer else None)

    def remove(self) -> None:
        """Remove every controller's group directory."""
        for path in self.dirs.values():
            with contextlib.suppress(OSError):
                path.rmdir()


class CgroupV1:
    version = "v1"
    CONTROLLERS = ("memory", "pids", "cpu", "cpuset", "freezer")

    def __init__(self, controllers: tuple[str, ...]) -> None:
        self.controllers = controllers
        self.enforced = tuple(c for c in controllers if c in ("memory", "pids", "cpu", "cpuset"))

    @classmethod
    def detect(cls) -> CgroupV1 | None:
        """The v1 controllers root can create groups in here, or None."""
        usable = tuple(c for c in cls.CONTROLLERS if cls._usable(c))
        return cls(usable) if "memory" in usable or "pids" in usable else None

    @staticmethod
    def _usable(controller: str) -> bool:
        base = ROOT / controller
        if not (base / "cgroup.procs").exists():
            return False
        try:
            (base / PARENT).mkdir(exist_ok=True)
            if controller == "cpuset":
                _inherit_cpuset(base / PARENT, base)
        except OSError:
            return False
        return os.access(base / PARENT, os.W_OK)

    def create(self, limits: Limits, owner: str) -> V1Group:
        """Make one group per controller and write the limits."""
        name = f"{owner}-{uuid.uuid4().hex[:12]}"
        dirs = {}
        for controller in self.controllers:
            path = ROOT / controller / PARENT / name
            path.mkdir()
            dirs[controller] = path
        group = V1Group(dirs)
        try:
            self._apply(group, limits)
        except OSError:
            group.remove()
            raise
        return group

    def sweep(self, owner: str) -> int:
        """Kill and remove every group of `owner`, in every controller."""
        names = {
            path.name
            for controller in self.controllers
            for path in (ROOT / controller / PARENT).glob(f"{owner}-*")
        }
        for name in names:
            group = V1Group({c: ROOT / c / PARENT / name for c in self.controllers})
            group.kill_all()
            group.remove()
        return len(names)

    @staticmethod
    def _apply(group: V1Group, limits: Limits) -> None:
        d = group.dirs
        if "memory" in d:
            _write(d["memory"] / "memory.limit_in_bytes", str(limits.memory_bytes))
            swap = d["memory"] / "memory.memsw.limit_in_bytes"
            if swap.exists():
                # No swap beyond the memory limit: a memory bomb must hit the limit, not disk.
                with contextlib.suppress(OSError):
                    _write(swap, str(limits.memory_bytes))
        if "pids" in d:
            _write(d["pids"] / "pids.max", str(limits.pids))
        if "cpu" in d:
            quota = max(1000, int(limits.cpus * CFS_PERIOD_US))
            _write(d["cpu"] / "cpu.cfs_period_us", str(CFS_PERIOD_US))
            _write(d["cpu"] / "cpu.cfs_quota_us", str(quota))
        if "cpuset" in d:
            _inherit_cpuset(d["cpuset"], d["cpuset"].parent)
            if limits.cpuset is not None:
                _write(d["cpuset"] / "cpuset.cpus", limits.cpuset)


def _inherit_cpuset(path: Path, parent: Path) -> None:
    # A v1 cpuset group starts with no cpus and no mems; a process cannot join it until set.
    for name in ("cpuset.cpus", "cpuset.mems"):
        if not _read(path / name).strip():
            _write(path / name, _read(parent / name).strip())


@dataclass
class V2Group:
    path: Path

    def procs_files(self) -> list[Path]:
        """The one cgroup.procs of the unified hierarchy."""
        return [self.path / "cgroup.procs"]

    def pids(self) -> list[int]:
        """Every process in the group."""
        return sorted(_pids(self.procs_files()))

    def stopped(self) -> list[str]:
        """Limits hit, read from memory.events and pids.events."""
        hit = []
        if _field(_read(self.path / "memory.events"), "oom_kill") > 0:
            hit.append("memory")
        if _field(_read(self.path / "pids.events"), "max") > 0:
            hit.append("pids")
        return hit

    def memory_in_use(self) -> int | None:
        """anon of memory.stat."""
        stat = _read(self.path / "memory.stat")
        return _field(stat, "anon") if stat else None

    def kill_all(self) -> None:
        """cgroup.kill where the kernel has it, else freeze and kill one by one."""
        kill = self.path / "cgroup.kill"
        if kill.exists():
            with contextlib.suppress(OSError):
                _write(kill, "1")
        freeze = self.path / "cgroup.freeze"
        _kill_until_empty(self.procs_files(), None)
        with contextlib.suppress(OSError):
            if freeze.exists():
                _write(freeze, "0")

    def remove(self) -> None:
        """Remove the group directory."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


class CgroupV2:
    version = "v2"
    WANTED = ("memory", "pids", "cpu", "cpuset")

    def __init__(self, base: Path, controllers: tuple[str, ...]) -> None:
        self.base = base
        self.enforced = controllers

    @classmethod
    def detect(cls, root: Path = ROOT) -> CgroupV2 | None:
        """A delegated v2 subtree with memory or pids control, or None."""
        available = _read(root / "cgroup.controllers").split()
        if not available:
            return None
        base = root / PARENT
        try:
            base.mkdir(exist_ok=True)
            wanted = [c for c in cls.WANTED if c in available]
            # Controllers must be enabled in each parent's subtree_control to reach children.
            for target in (root, base):
                for controller in wanted:
                    with contextlib.suppress(OSError):
                        _write(target / "cgroup.subtree_control", f"+{controller}")
        except OSError:
            return None
        enabled = tuple(_read(base / "cgroup.subtree_control").split())
        usable = tuple(c for c in cls.WANTED if c in enabled)
        return cls(base, usable) if "memory" in usable or "pids" in usable else None

    def sweep(self, owner: str) -> int:
        """Kill and remove every group of `owner`."""
        paths = list(self.base.glob(f"{owner}-*"))
        for path in paths:
            group = V2Group(path)
            group.kill_all()
            group.remove()
        return len(paths)

    def create(self, limits: Limits, owner: str) -> V2Group:
        """Make one group and write the limits its controllers allow."""
        path = self.base / f"{owner}-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        group = V2Group(path)
        try:
            if "memory" in self.enforced:
                _write(path / "memory.max", str(limits.memory_bytes))
                with contextlib.suppress(OSError):
                    _write(path / "memory.swap.max", "0")
            if "pids" in self.enforced:
                _write(path / "pids.max", str(limits.pids))
            if "cpu" in self.enforced:
                quota = max(1000, int(limits.cpus * CFS_PERIOD_US))
                _write(path / "cpu.max", f"{quota} {CFS_PERIOD_US}")
            if "cpuset" in self.enforced and limits.cpuset is not None:
                _write(path / "cpuset.cpus", limits.cpuset)
        except OSError:
            group.remove()
            raise
        return group


def detect() -> Controller | None:
    """The cgroup flavour that works on this host (v2 preferred when delegated), or None."""
    if os.geteuid() != 0:
        return None
    return CgroupV2.detect() or CgroupV1.detect()
