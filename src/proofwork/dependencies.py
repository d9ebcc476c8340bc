"""Installing a generic submission's declared dependencies into a cached, per-request layer.

The install phase is the only one allowed to reach a package index. It runs inside the sandbox
(the project's own build code is as untrusted as its tests) with network on, writing into a
layer folder that later phases mount read-only at /deps. Layers are cached by the hash of what
was requested; when the request builds the submission itself (or names local paths), the
submission's sha256 is part of that hash, so one submission's build can never leave code in a
layer that another submission gets.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import posixpath
import re
import shlex
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofwork.evidence import Evidence, Finding, Severity, Status
from proofwork.runtime import DEPS, normalise
from proofwork.sandbox.base import WORKSPACE, ExecResult, Limits, Mount, Sandbox

# requirements.txt, dev-requirements.txt, requirements_test.txt, test-requirements.txt,
# requirements/tests.txt, tests/requirements.txt …: what runtime and test code need (docs and
# lint lists are left out).
_ROLE = r"(base|common|main|dev|develop|test|tests|testing)"
REQUIREMENT_FILE = re.compile(
    rf"^(({_ROLE}[._-])?requirements([._-]{_ROLE})?|requirements/{_ROLE}|"
    rf"(test|tests)/requirements)\.txt$"
)
BUILD_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "tox.ini")
TEST_EXTRAS = ("test", "tests", "testing")
DEV_EXTRAS = ("dev", "develop")  # only when no extra or group is named for tests
LOCAL_MARKERS = ("-e", ".", "/", "file:")
DECLARATION_MAX = 1024 * 1024
MARKER = "proofwork-install.json"
# pip builds the submission from a private copy here, inside the sandbox's own /tmp; the
# distribution it installs from there records this folder as where it came from (PEP 610).
BUILD_DIR = "/tmp/src"  # noqa: S108 - the sandbox's private tmpfs, not the host's
GENERATED = ".proofwork-install"  # folder of generated requirement lists, inside pip's copy
REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[([^\]]*)\])?")
COMMENT = re.compile(r"(^|\s)#.*$")  # as pip reads them: `#` at the start or after a space
INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)\s*=?\s*(\S+)")


@dataclass(frozen=True)
class Unit:
    """One declaration pip installs as a whole: a requirements file, the project, the
    requirements of its test extras, a dependency group or tox's deps."""

    label: str  # how a person names it: "requirements/tests.txt", "extra tests", "group dev"
    args: tuple[str, ...]  # pip arguments
    requirements: tuple[str, ...] = ()  # its lines, tried one by one when the whole fails
    fallback: tuple[str, ...] = ()  # pip arguments to try when the whole fails (no extras)


@dataclass(frozen=True)
class SetAside:
    """A requirement on a tool the grader provides itself, left out of the install."""

    requirement: str
    source: str


@dataclass(frozen=True)
class InstallRequest:
    """What a submission asks to have installed (requirements on the grader's tools removed)."""

    units: tuple[Unit, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # path in pip's copy -> text to write
    set_aside: tuple[SetAside, ...] = ()
    build_project: bool = False
    declarations: dict[str, str] = field(default_factory=dict)  # file -> sha256
    local: bool = False

    @property
    def empty(self) -> bool:
        return not self.units

    def key(self, *, submission_sha: str, runtime: str, index_url: str | None) -> str:
        """Cache key: runtime, index, declarations; the submission too when its own code runs."""
        parts = {
            "runtime": runtime,
            "index": index_url,
            "units": [[u.label, *u.args] for u in self.units],
            "files": self.files,
            "declarations": self.declarations,
            "submission": submission_sha if self.local or self.build_project else None,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]


def _read_declaration(path: Path) -> bytes | None:
    if path.is_symlink() or not path.is_file() or path.stat().st_size > DECLARATION_MAX:
        return None
    return path.read_bytes()


class _Planner:
    """Builds an InstallRequest, setting aside requirements on the grader's tools."""

    def __init__(self, workspace: Path, provided: frozenset[str]) -> None:
        self.workspace = workspace
        self.provided = provided
        self.units: list[Unit] = []
        self.files: dict[str, str] = {}
        self.set_aside: list[SetAside] = []
        self.declarations: dict[str, str] = {}
        self.local = False

    def read(self, name: str) -> str | None:
        raw = _read_declaration(self.workspace / name)
        if raw is None:
            return None
        self.declarations[name] = hashlib.sha256(raw).hexdigest()
        return raw.decode("utf-8", errors="replace")

    def keep(self, requirement: str, source: str) -> bool:
        """False (and noted) when the requirement names a tool the grader provides."""
        match = REQUIREMENT_NAME.match(requirement)
        if match and normalise(match.group(1)) in self.provided:
            self.set_aside.append(SetAside(_without_hashes(requirement.strip()), source))
            return False
        return True

    def requirement_file(self, name: str, seen: set[str] | None = None) -> Unit | None:
        """The file (and the files it includes) with tool requirements commented out."""
        seen = set() if seen is None else seen
        if name in seen:
            return None
        seen.add(name)
        text = self.read(name)
        if text is None:
            return None
        self.local = self.local or _names_local(text)
        kept: list[str] = []
        lines: list[str] = []
        for line in _logical_lines(text):
            bare = COMMENT.sub("", line).strip()
            include = INCLUDE.match(bare)
            if include:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(name), include[2]))
                inner = None if target.startswith("../") else self.requirement_file(target, seen)
                if inner is not None and include[1] in ("-r", "--requirement"):
                    kept += inner.requirements
            elif bare and not bare.startswith("-") and not self.keep(bare, name):
                lines.append(f"# set aside by Proofwork (the grader provides it): {bare}")
                continue
            elif bare and not bare.startswith("-"):
                kept.append(_without_hashes(bare))
            lines.append(line)
        self.files[name] = "\n".join(lines) + "\n"
        return Unit(name, ("-r", name), tuple(kept))

    def generated(self, label: str, slug: str, requirements: list[str], source: str) -> None:
        """A unit from requirement strings declared in a config file (extras, groups, tox)."""
        kept = [r.strip() for r in requirements if r.strip() and self.keep(r, source)]
        if kept:
            path = f"{GENERATED}/{slug}.txt"
            self.files[path] = "\n".join(kept) + "\n"
            self.units.append(Unit(label, ("-r", path), tuple(kept)))

    def request(self, build_project: bool) -> InstallRequest:
        return InstallRequest(
            units=tuple(self.units),
            files=self.files,
            set_aside=tuple(self.set_aside),
            build_project=build_project,
            declarations=self.declarations,
            local=self.local,
        )


def plan(workspace: Path, provided: frozenset[str] = frozenset()) -> InstallRequest:
    """Find what the submission declares, wherever real projects declare test dependencies:
    requirement files, its build config with test extras, PEP 735 dependency groups, and tox's
    deps when nothing else names test dependencies. Requirements on `provided` (the tools the
    grader measures with) are set aside."""
    planner = _Planner(workspace, provided)
    for name in requirement_files_in(workspace):
        unit = planner.requirement_file(name)
        if unit is not None:
            planner.units.append(unit)
    texts = {name: planner.read(name) for name in BUILD_FILES}
    pyproject = _pyproject(texts["pyproject.toml"])
    build = bool(texts["setup.py"] or texts["setup.cfg"]) or _buildable(pyproject)
    test_declared = any(_role(u.label) != "base" for u in planner.units)
    if build:
        test_declared |= _project_units(planner, pyproject, texts)
    groups = _groups(pyproject)
    wanted = [g for g in groups if g in TEST_EXTRAS] or [g for g in groups if g in DEV_EXTRAS]
    for group in wanted:
        planner.generated(
            f"group {group}", f"group-{group}", _group(groups, group), "pyproject.toml"
        )
    if not (test_declared or wanted) and texts["tox.ini"]:
        _tox_units(planner, texts["tox.ini"])
    return planner.request(build)


def _project_units(
    planner: _Planner, pyproject: dict[str, Any], texts: dict[str, str | None]
) -> bool:
    """The project itself, and the requirements of its test extras; True when it has any."""
    project = pyproject.get("project", {})
    declared = project.get("optional-dependencies", {}) if isinstance(project, dict) else {}
    dynamic = "optional-dependencies" in (
        project.get("dynamic", []) if isinstance(project, dict) else []
    )
    if isinstance(declared, dict) and declared and not dynamic:
        planner.units.append(Unit("the project", (".",)))
        extras = _test_names(declared)
        name = normalise(str(project.get("name", "")))
        for extra in extras:
            requirements = _expand_extra(declared, extra, name)
            planner.generated(f"extra {extra}", f"extra-{extra}", requirements, "pyproject.toml")
        return bool(extras)
    # Extras computed by a build backend (setup.py, poetry, dynamic): pip reads them itself.
    poetry = pyproject.get("tool", {}).get("poetry", {}).get("extras", {})
    if isinstance(poetry, dict) and poetry:
        extras = _test_names(poetry)
    elif texts["setup.py"] or texts["setup.cfg"]:
        extras = list(TEST_EXTRAS)  # pip ignores extras that don't exist
    else:
        extras = []
    if extras:
        # Extras a build backend computes cannot be filtered here: if they conflict with the
        # grader's tools, the project alone still gets in.
        target = f".[{','.join(extras)}]"
        planner.units.append(Unit(f"the project with {target[1:]}", (target,), fallback=(".",)))
    else:
        planner.units.append(Unit("the project", (".",)))
    return bool(poetry and extras)


def _test_names(declared: dict[str, Any]) -> list[str]:
    names = [n for n in declared if normalise(n) in TEST_EXTRAS]
    return names or [n for n in declared if normalise(n) in DEV_EXTRAS]


def _expand_extra(declared: dict[str, Any], extra: str, project: str) -> list[str]:
    """An extra's requirements, following `project[other]` references to other extras."""
    requirements: list[str] = []
    pending, seen = [extra], set()
    while pending:
        current = pending.pop()
        if current in seen or not isinstance(declared.get(current), list):
            continue
        seen.add(current)
        for requirement in declared[current]:
            match = REQUIREMENT_NAME.match(str(requirement))
            if match and normalise(match.group(1)) == project:
                pending += [e.strip() for e in (match.group(3) or "").split(",") if e.strip()]
            else:
                requirements.append(str(requirement))
    return requirements


def _groups(pyproject: dict[str, Any]) -> dict[str, Any]:
    groups = pyproject.get("dependency-groups", {})
    return groups if isinstance(groups, dict) else {}


def _group(groups: dict[str, Any], name: str, seen: frozenset[str] = frozenset()) -> list[str]:
    """A PEP 735 group's requirements, its `include-group` entries expanded."""
    found: list[str] = []
    for entry in groups.get(name, []) if name not in seen else []:
        if isinstance(entry, str):
            found.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            found += _group(groups, entry["include-group"], seen | {name})
    return found


TOX_FACTOR = re.compile(r"^[\w.,!-]+:\s")


def _tox_units(planner: _Planner, text: str) -> None:
    """tox.ini's [testenv] deps: plain requirements and `-r` files (substitutions it resolves
    itself and factor-conditional lines are left out)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return
    deps = parser.get("testenv", "deps", fallback="")
    requirements = []
    for line in deps.splitlines():
        line = COMMENT.sub("", line).strip().replace("{toxinidir}/", "")
        include = INCLUDE.match(line)
        if include and "{" not in include[2]:
            unit = planner.requirement_file(posixpath.normpath(include[2]))
            if unit is not None and unit not in planner.units:
                planner.units.append(unit)
        elif line and "{" not in line and not line.startswith("-") and not TOX_FACTOR.match(line):
            requirements.append(line)
    planner.generated("tox.ini deps", "tox-deps", requirements, "tox.ini")


def _logical_lines(text: str) -> list[str]:
    """Requirement-file lines with backslash continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def _without_hashes(line: str) -> str:
    return re.sub(r"\s--hash[= ]\S+", "", line).strip()


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
    """Requirement files at the top, in requirements/ or tests/, sorted so the plan is stable."""
    candidates = [p.name for p in workspace.glob("*.*")]
    for folder in ("requirements", "tests", "test"):
        candidates += [f"{folder}/{p.name}" for p in workspace.glob(f"{folder}/*.*")]
    found = sorted(n for n in candidates if REQUIREMENT_FILE.match(n.lower()))
    # A dev list (linters, docs, release tools) only when no list is named for tests.
    if any(_role(n) == "test" for n in found):
        found = [n for n in found if _role(n) != "dev"]
    return tuple(found)


def _role(name: str) -> str:
    if re.search(r"(^|[/._-])(test|tests|testing)([/._-]|$)", name.lower()):
        return "test"
    if re.search(r"(^|[/._-])(dev|develop)([/._-]|$)", name.lower()):
        return "dev"
    return "base"


def _pyproject(raw: bytes | str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _buildable(pyproject: dict[str, Any]) -> bool:
    return "build-system" in pyproject or "project" in pyproject


def _names_local(text: str) -> bool:
    for line in text.splitlines():
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
    constraints: tuple[str, ...] = ()  # pins of the grader's own tools (pytest, coverage, …)

    def install(self, request: InstallRequest, submission_sha: str) -> tuple[Path | None, Evidence]:
        """The layer to mount at /deps (None when nothing was requested), and the evidence."""
        evidence = Evidence("install")
        evidence.metrics["install.requested"] = len(request.units)
        evidence.metrics["install.set_aside"] = len(request.set_aside)
        evidence.findings += [_set_aside(item, self.constraints) for item in request.set_aside]
        if request.empty:
            evidence.metrics["install.cached"] = False
            evidence.metrics["install.failed"] = 0
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
                    f"Could not install `{unit['what']}` ({unit['source']}): {unit['reason']}",
                    snippet=unit.get("output"),
                    probe="install",
                )
            )
        if record.get("nothing"):
            evidence.status = Status.ERROR
            evidence.error = "no declared dependency could be installed"
        return layer / "site", evidence

    def _build(self, layer: Path, request: InstallRequest) -> dict[str, Any]:
        if layer.exists():
            shutil.rmtree(layer)
        (layer / "site").mkdir(parents=True)
        (layer / "pip-cache").mkdir()
        for name, text in request.files.items():
            (layer / "declared" / name).parent.mkdir(parents=True, exist_ok=True)
            (layer / "declared" / name).write_text(text)
        log = ""
        failed: list[dict[str, Any]] = []
        installed = 0
        together = self._pip([a for unit in request.units for a in unit.args], layer)
        log += together.text() + together.text("stderr")
        if together.ok:
            installed = len(request.units)
        else:
            # One bad requirement sinks a combined install: retry declaration by declaration,
            # then line by line within a declaration that still fails, to keep the rest.
            for unit in request.units:
                alone = self._pip(list(unit.args), layer)
                log += alone.text() + alone.text("stderr")
                if alone.ok:
                    installed += 1
                    continue
                if unit.fallback:
                    bare = self._pip(list(unit.fallback), layer)
                    log += bare.text() + bare.text("stderr")
                    installed += bare.ok
                lines = unit.requirements if len(unit.requirements) > 1 else ()
                for requirement in lines:
                    one = self._pip([requirement], layer)
                    log += one.text() + one.text("stderr")
                    installed += one.ok
                    if not one.ok:
                        failed.append({"what": requirement, "source": unit.label, **_reason(one)})
                if not lines:
                    what = unit.requirements[0] if unit.requirements else " ".join(unit.args)
                    failed.append({"what": what, "source": unit.label, **_reason(alone)})
        shutil.rmtree(layer / "pip-cache", ignore_errors=True)
        record = {"failed": failed, "nothing": installed == 0, "log": log[-65536:]}
        (layer / MARKER).write_text(json.dumps(record))
        return record

    def _pip(self, args: list[str], layer: Path) -> ExecResult:
        index = ["--index-url", self.index_url] if self.index_url else []
        pip = [self.python, "-m", "pip", "install", "--target", DEPS, "--upgrade"]
        pip += ["--no-warn-script-location", "--progress-bar", "off", *index]
        pip += ["--cache-dir", "/pip-cache"]
        pip += ["--constraint", "/tmp/grader-tools.txt", *args]  # noqa: S108 - sandbox tmpfs
        # pip builds inside the source tree: give it a private copy, without .git, with the
        # declarations as planned (tool requirements set aside, generated lists added). The
        # constraints keep what the project needs from replacing the tools that measure it.
        # (/tmp is the sandbox's private tmpfs, not the host's.)
        pins = shlex.quote("\n".join(self.constraints) + "\n")
        copy = f"tar -C {WORKSPACE} --exclude=./.git -cf - . | tar -C {BUILD_DIR} -xf -"
        declared = f"if [ -d /declared ]; then cp -R /declared/. {BUILD_DIR}/; fi"
        script = (
            f"printf %s {pins} > /tmp/grader-tools.txt && mkdir -p {BUILD_DIR} && {copy} "
            f"&& {declared} && cd {BUILD_DIR} && exec {shlex.join(pip)}"
        )
        mounts = [*self.runtime_mounts, Mount(layer / "site", DEPS, writable=True)]
        mounts.append(Mount(layer / "pip-cache", "/pip-cache", writable=True))
        if (layer / "declared").is_dir():
            mounts.append(Mount(layer / "declared", "/declared"))
        return self.sandbox.run(
            ["/bin/sh", "-c", script],
            limits=self.limits,
            env={"HOME": "/tmp", "PATH": "/usr/bin:/bin", "PIP_NO_INPUT": "1", "LANG": "C.UTF-8"},  # noqa: S108 - inside the sandbox
            network=True,
            mounts=tuple(mounts),
        )


def _set_aside(item: SetAside, constraints: tuple[str, ...]) -> Finding:
    match = REQUIREMENT_NAME.match(item.requirement)
    name = normalise(match.group(1)) if match else item.requirement
    pins = {normalise(c.split("==")[0]): c.split("==")[-1] for c in constraints}
    provided = f"{name} {pins[name]}" if name in pins else name
    return Finding(
        "install.set_aside",
        Severity.INFO,
        f"Set aside `{item.requirement}` ({item.source}): the grader runs the suite on its "
        f"own {provided}.",
        probe="install",
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
    """pip's own words: its ERROR lines and, for a conflict, what caused it."""
    if result.stopped:
        return {"reason": f"stopped by the sandbox ({', '.join(result.stopped)})", "output": ""}
    lines = [ln for ln in result.text("stderr").splitlines() if ln.strip()]
    errors = [ln.strip() for ln in lines if ln.startswith("ERROR") and "for help visit" not in ln]
    cause = next((i for i, ln in enumerate(lines) if "conflict is caused by" in ln), None)
    if cause is not None:
        errors += [ln.strip() for ln in lines[cause + 1 : cause + 6] if ln.startswith(" ")]
    reason = "; ".join(errors) or (lines or ["pip failed without a message"])[-1].strip()
    return {"reason": reason[:600], "output": "\n".join(lines[-40:])}


def shipped_top_level(site: Path) -> frozenset[str] | None:
    """The top-level files and folders that the submission's own built distribution installed
    into a layer (`pathspec`, `six.py`), or None when the layer holds no build of it."""
    for direct_url in site.glob("*.dist-info/direct_url.json"):
        try:
            origin = json.loads(direct_url.read_text()).get("url")
            record = (direct_url.parent / "RECORD").read_text(errors="replace")
        except (OSError, ValueError, AttributeError):
            continue
        if origin != f"file://{BUILD_DIR}":
            continue
        tops = {line.split(",", 1)[0].split("/", 1)[0] for line in record.splitlines()}
        return frozenset(t for t in tops if t and not t.endswith((".dist-info", ".data")))
    return None
