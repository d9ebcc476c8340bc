"""Installing a generic submission's declared dependencies into a cached, per-request layer.

The install phase is the only one allowed to reach a package index. It runs inside the sandbox
(the project's own build code is as untrusted as its tests) with network on, writing into a
layer folder that later phases mount read-only at /deps. Layers are cached by the hash of what
was requested; when the request builds the submission itself (or names local paths), the
submission's sha256 is part of that hash, so one submission's build can never leave code in a
layer that another submission gets.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofwork.evidence import Evidence, Finding, Severity, Status
from proofwork.runtime import DEPS
from proofwork.sandbox.base import WORKSPACE, ExecResult, Limits, Mount, Sandbox

# requirements.txt, dev-requirements.txt, requirements_test.txt, dev.requirements.txt,
# requirements/tests.txt …: what runtime and test code need (docs and lint lists are left out).
_ROLE = r"(base|common|main|dev|develop|test|tests|testing)"
REQUIREMENT_FILE = re.compile(
    rf"^(({_ROLE}[._-])?requirements([._-]{_ROLE})?|requirements/{_ROLE})\.txt$"
)
BUILD_FILES = ("pyproject.toml", "setup.py", "setup.cfg")
TEST_EXTRAS = ("test", "tests", "testing", "dev")
LOCAL_MARKERS = ("-e", ".", "/", "file:")
DECLARATION_MAX = 1024 * 1024
MARKER = "proofwork-install.json"


@dataclass(frozen=True)
class InstallRequest:
    """What a submission asks to have installed."""

    requirement_files: tuple[str, ...] = ()
    build_project: bool = False
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    declarations: dict[str, str] = field(default_factory=dict)  # file -> sha256
    local: bool = False

    @property
    def empty(self) -> bool:
        return not (self.requirement_files or self.build_project or self.groups)

    def units(self) -> list[list[str]]:
        """pip arguments, one unit each, tried together first and then one by one."""
        units = [["-r", name] for name in self.requirement_files]
        if self.build_project:
            target = f".[{','.join(self.extras)}]" if self.extras else "."
            units.append([target])
        units += [["--group", f"pyproject.toml:{group}"] for group in self.groups]
        return units

    def key(self, *, submission_sha: str, runtime: str, index_url: str | None) -> str:
        """Cache key: runtime, index, declarations; the submission too when its own code runs."""
        parts = {
            "runtime": runtime,
            "index": index_url,
            "units": self.units(),
            "declarations": self.declarations,
            "submission": submission_sha if self.local or self.build_project else None,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def _read_declaration(path: Path) -> bytes | None:
    if path.is_symlink() or not path.is_file() or path.stat().st_size > DECLARATION_MAX:
        return None
    return path.read_bytes()


def plan(workspace: Path) -> InstallRequest:
    """Find what the submission declares: requirement files, its build config, test extras."""
    declarations: dict[str, str] = {}
    texts: dict[str, bytes] = {}
    requirement_files = requirement_files_in(workspace)
    for name in requirement_files + BUILD_FILES:
        raw = _read_declaration(workspace / name)
        if raw is not None:
            declarations[name] = hashlib.sha256(raw).hexdigest()
            texts[name] = raw
    requirement_files = tuple(n for n in requirement_files if n in texts)
    pyproject = _pyproject(texts.get("pyproject.toml"))
    build = "setup.py" in texts or "setup.cfg" in texts or _buildable(pyproject)
    return InstallRequest(
        requirement_files=requirement_files,
        build_project=build,
        extras=_extras(pyproject, bool(texts.get("setup.py") or texts.get("setup.cfg"))),
        groups=tuple(g for g in TEST_EXTRAS if g in pyproject.get("dependency-groups", {})),
        declarations=declarations,
        local=any(_names_local(texts[n]) for n in requirement_files),
    )


REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def declared_names(workspace: Path) -> list[str]:
    """Distribution names the submission declares (pyproject and requirement files)."""
    names: list[str] = []
    pyproject = _pyproject(_read_declaration(workspace / "pyproject.toml"))
    project = pyproject.get("project", {})
    lines = list(project.get("dependencies", [])) if isinstance(project, dict) else []
    for name in requirement_files_in(workspace):
        raw = _read_declaration(workspace / name)
        if raw is not None:
            lines += raw.decode("utf-8", errors="replace").splitlines()
    for line in lines:
        text = str(line).split("#", 1)[0].strip()
        match = REQUIREMENT_NAME.match(text) if not text.startswith("-") else None
        if match:
            names.append(match.group(1))
    return sorted(set(names))


def requirement_files_in(workspace: Path) -> tuple[str, ...]:
    """Requirement files at the top or in requirements/, sorted so the plan is stable."""
    candidates = [p.name for p in workspace.glob("*.*")]
    candidates += [f"requirements/{p.name}" for p in workspace.glob("requirements/*.*")]
    return tuple(sorted(n for n in candidates if REQUIREMENT_FILE.match(n.lower())))


def _pyproject(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        return tomllib.loads(raw.decode("utf-8", errors="replace"))
    except tomllib.TOMLDecodeError:
        return {}


def _buildable(pyproject: dict[str, Any]) -> bool:
    return "build-system" in pyproject or "project" in pyproject


def _extras(pyproject: dict[str, Any], setuptools_legacy: bool) -> tuple[str, ...]:
    declared = pyproject.get("project", {}).get("optional-dependencies", {})
    if isinstance(declared, dict) and declared:
        return tuple(e for e in TEST_EXTRAS if e in declared)
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("extras", {})
    if isinstance(poetry, dict) and poetry:
        return tuple(e for e in TEST_EXTRAS if e in poetry)
    # setup.py declares extras in code we do not run here; pip ignores extras that don't exist.
    return ("test", "tests", "testing") if setuptools_legacy else ()


def _names_local(raw: bytes) -> bool:
    for line in raw.decode("utf-8", errors="replace").splitlines():
        stripped = line.split("#", 1)[0].strip()
        if stripped.startswith(LOCAL_MARKERS) or "@ file:" in stripped:
            return True
    return False


@dataclass
class Installer:
    sandbox: Sandbox
    python: str
    runtime_mounts: tuple[Mount, ...]
    cache_dir: Path
    index_url: str | None
    limits: Limits
    constraints: tuple[str, ...] = ()  # pins the grader's own tools (pytest, coverage)

    def install(self, request: InstallRequest, submission_sha: str) -> tuple[Path | None, Evidence]:
        """The layer to mount at /deps (None when nothing was requested), and the evidence."""
        evidence = Evidence("install")
        evidence.metrics["install.requested"] = len(request.units())
        if request.empty:
            evidence.metrics["install.cached"] = False
            return None, evidence
        key = request.key(
            submission_sha=submission_sha, runtime=self.python, index_url=self.index_url
        )
        layer = self.cache_dir / key
        record = _load_record(layer)
        # Only a complete install is reused: a failure may have been the network's, not the
        # submission's, and must not stick to every later grade.
        if record is None or record.get("failed"):
            record = self._build(layer, request)
            evidence.metrics["install.cached"] = False
        else:
            evidence.metrics["install.cached"] = True
        failed = record.get("failed", [])
        evidence.metrics["install.failed"] = len(failed)
        evidence.add_artifact("pip.log", str(record.get("log", "")))
        for unit in failed:
            evidence.findings.append(
                Finding(
                    "install.failed",
                    Severity.MEDIUM,
                    f"Could not install `{' '.join(unit['args'])}`: {unit['reason']}",
                    snippet=unit.get("output"),
                    probe="install",
                )
            )
        if failed and len(failed) == len(request.units()):
            evidence.status = Status.ERROR
            evidence.error = "no declared dependency could be installed"
        return layer / "site", evidence

    def _build(self, layer: Path, request: InstallRequest) -> dict[str, Any]:
        if layer.exists():
            shutil.rmtree(layer)
        (layer / "site").mkdir(parents=True)
        units = request.units()
        together = self._pip([arg for unit in units for arg in unit], layer)
        log = together.text() + together.text("stderr")
        failed: list[dict[str, Any]] = []
        if not together.ok:
            # One bad requirement sinks a combined install; retry unit by unit to keep the rest.
            for unit in units:
                alone = self._pip(unit, layer)
                log += alone.text() + alone.text("stderr")
                if not alone.ok:
                    failed.append({"args": unit, **_reason(alone)})
        record = {"failed": failed, "log": log[-65536:]}
        (layer / MARKER).write_text(json.dumps(record))
        return record

    def _pip(self, args: list[str], layer: Path) -> ExecResult:
        index = ["--index-url", self.index_url] if self.index_url else []
        pip = [self.python, "-m", "pip", "install", "--target", DEPS, "--upgrade"]
        pip += ["--no-warn-script-location", "--progress-bar", "off", *index]
        pip += ["--constraint", "/tmp/grader-tools.txt", *args]  # noqa: S108 - sandbox tmpfs
        # pip builds inside the source tree: give it a private copy, without .git. The
        # constraints keep a project's test extras from swapping the tools that measure it.
        # (/tmp is the sandbox's private tmpfs, not the host's.)
        pins = shlex.quote("\n".join(self.constraints) + "\n")
        copy = f"tar -C {WORKSPACE} --exclude=./.git -cf - . | tar -C /tmp/src -xf -"
        script = (
            f"printf %s {pins} > /tmp/grader-tools.txt && mkdir -p /tmp/src && {copy} "
            f"&& cd /tmp/src && exec {shlex.join(pip)}"
        )
        return self.sandbox.run(
            ["/bin/sh", "-c", script],
            limits=self.limits,
            env={"HOME": "/tmp", "PATH": "/usr/bin:/bin", "PIP_NO_INPUT": "1", "LANG": "C.UTF-8"},  # noqa: S108 - inside the sandbox
            network=True,
            mounts=(*self.runtime_mounts, Mount(layer / "site", DEPS, writable=True)),
        )


def _load_record(layer: Path) -> dict[str, Any] | None:
    marker = layer / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _reason(result: ExecResult) -> dict[str, str]:
    if result.stopped:
        return {"reason": f"stopped by the sandbox ({', '.join(result.stopped)})", "output": ""}
    lines = [ln for ln in result.text("stderr").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "error" in ln.lower()]
    reason = (errors or lines or ["pip failed without a message"])[-1].strip()[:300]
    return {"reason": reason, "output": "\n".join(lines[-40:])}
