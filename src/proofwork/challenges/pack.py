"""Challenge packs: a folder of data (challenge.toml, brief, starter, reference, checks …).

A pack is loaded and validated as a whole; a missing file, an unknown signal or a bad
threshold fails with a message naming the pack folder, the file and the place in it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from proofwork.harness.load import LoadPlan, PlanError

REQUIRED_FILES = ("challenge.toml", "brief.md", "rubric.toml")
# What each kind of pack needs besides: a service has a contract and traffic/fault plans.
KIND_FILES = {"service": ("openapi.yaml", "load.toml", "faults.toml"), "job": ()}
REQUIRED_DIRS = ("starter", "reference", "checks")
# `$NAME` in a job's run command; the harness sets each for every run of the job.
JOB_VARIABLES = ("INPUT_DIR", "OUTPUT_DIR", "WORK_DIR", "DATE")

MACHINE_SIGNALS = ("production_readiness", "testing_discipline", "maintainability", "operability")
HUMAN_SIGNALS = ("business_understanding", "tradeoff_reasoning")
SIGNALS = MACHINE_SIGNALS + HUMAN_SIGNALS

# `metric op value`: the whole grammar of a threshold; nothing is ever evaluated as code.
CONDITION = re.compile(
    r"^\s*(?P<metric>[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    r"(?P<value>-?\d+(?:\.\d+)?|true|false)\s*$"
)
ID = re.compile(r"^[a-z][a-z0-9-]{1,63}$")


class PackError(Exception):
    """A pack could not be loaded; the message names the pack, the file and the place."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(Strict):
    metric: str
    op: str
    value: float | bool

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Parse `metric op value`, e.g. `tests.coverage_percent >= 80`."""
        match = CONDITION.match(text)
        if match is None:
            raise ValueError(
                f"bad threshold {text!r}: write `metric op number`, e.g. "
                "`tests.coverage_percent >= 80` (ops: >= <= > < == !=)"
            )
        raw = match["value"]
        value: float | bool = raw == "true" if raw in ("true", "false") else float(raw)
        return cls(metric=match["metric"], op=match["op"], value=value)

    def __str__(self) -> str:
        value = str(self.value).lower() if isinstance(self.value, bool) else f"{self.value:g}"
        return f"{self.metric} {self.op} {value}"


class Level(Strict):
    level: Annotated[int, Field(ge=0, le=4)]
    label: Annotated[str, Field(min_length=1)]
    description: Annotated[str, Field(min_length=1)]
    require: tuple[Condition, ...] = ()

    @field_validator("require", mode="before")
    @classmethod
    def _parse_conditions(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(Condition.parse(v) if isinstance(v, str) else v for v in value)
        return value


class SignalSpec(Strict):
    title: Annotated[str, Field(min_length=1)]
    levels: tuple[Level, ...]

    @model_validator(mode="after")
    def _levels_zero_to_four(self) -> SignalSpec:
        numbers = [lv.level for lv in self.levels]
        if numbers != [0, 1, 2, 3, 4]:
            raise ValueError(f"levels must be 0, 1, 2, 3, 4 in order (got {numbers})")
        if self.levels[0].require:
            raise ValueError("level 0 is where a submission starts: it takes no `require`")
        return self


class RubricSignal(Strict):
    title: Annotated[str, Field(min_length=1)]
    question: Annotated[str, Field(min_length=1)]
    material: tuple[str, ...] = ()
    levels: tuple[Level, ...]

    @model_validator(mode="after")
    def _levels_zero_to_four(self) -> RubricSignal:
        numbers = [lv.level for lv in self.levels]
        if numbers != [0, 1, 2, 3, 4]:
            raise ValueError(f"levels must be 0, 1, 2, 3, 4 in order (got {numbers})")
        return self


class Service(Strict):
    contract: str = "openapi.yaml"
    health_path: str = "/healthz"
    startup_timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0
    shutdown_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0


class JobSpec(Strict):
    """How the harness runs a batch job: its variables, and how long one run may take."""

    variables: tuple[str, ...] = JOB_VARIABLES
    run_timeout_s: Annotated[float, Field(gt=0, le=1800)] = 60.0
    memory_mib: Annotated[int, Field(ge=16)] = 512
    # Datasets are generated from a seed: the kit's sample from the public one, grading's
    # from the hidden one (challenge.toml never reaches a candidate).
    public_seed: int = 1
    hidden_seed: int = 2
    # The scale measurement: a generated day of `scale_rows` rows (checks/_data.py `large`),
    # run once under `scale_memory_mib`; 0 rows means the pack has none.
    scale_rows: Annotated[int, Field(ge=0)] = 0
    scale_memory_mib: Annotated[int, Field(ge=16)] = 64
    scale_timeout_s: Annotated[float, Field(gt=0, le=1800)] = 180.0
    # The acceptance check that runs the job with a wrong command (operability reads it).
    wrong_command_check: str = ""

    @field_validator("variables")
    @classmethod
    def _known_variables(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(JOB_VARIABLES))
        if unknown:
            raise ValueError(f"unknown job variable(s) {unknown}: use {', '.join(JOB_VARIABLES)}")
        return value


class Runtime(Strict):
    dependencies: tuple[str, ...] = ()


class Budget(Strict):
    total_s: Annotated[float, Field(gt=0)] = 600.0
    acceptance_s: Annotated[float, Field(gt=0)] = 240.0
    # The mutation probe's time; unset, it takes half of what is left when it starts.
    mutation_s: Annotated[float, Field(gt=0)] | None = None
    # Per-test time limit of the tests probe (a run's --test-timeout overrides it); unset, 30 s.
    test_timeout_s: Annotated[float, Field(gt=0)] | None = None


class Verify(Strict):
    starter_must_fail: tuple[str, ...] = ()
    reference_min_level: Annotated[int, Field(ge=0, le=4)] = 3
    starter_max_level: dict[str, Annotated[int, Field(ge=0, le=4)]] = Field(default_factory=dict)
    # Probes whose findings the reference must not have at all, and finding rules it must not
    # have from any probe (e.g. "input.server_error").
    reference_clean_probes: tuple[str, ...] = ()
    reference_forbidden_rules: tuple[str, ...] = ()
    # Probes in which the starter must have at least one finding.
    starter_findings_in: tuple[str, ...] = ()
    # Metrics on which the reference must beat the starter by this factor ("load.knee_concurrency").
    reference_beats_starter: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)


class ChallengeFile(Strict):
    id: str
    version: str
    title: Annotated[str, Field(min_length=1)]
    summary: str = ""
    time_box_minutes: Annotated[int, Field(gt=0, le=24 * 60)]
    kind: Literal["service", "job"] = "service"
    service: Service = Field(default_factory=Service)
    job: JobSpec = Field(default_factory=JobSpec)
    runtime: Runtime = Field(default_factory=Runtime)
    budget: Budget = Field(default_factory=Budget)
    verify: Verify = Field(default_factory=Verify)
    signals: dict[str, SignalSpec]

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID.match(value):
            raise ValueError("id must be lower-case letters, digits and dashes (2-64)")
        return value

    # "before": an unknown signal name is the more useful message than its missing fields.
    @field_validator("signals", mode="before")
    @classmethod
    def _machine_signals_only(cls, value: object) -> object:
        unknown = sorted(set(value) - set(MACHINE_SIGNALS)) if isinstance(value, dict) else []
        if unknown:
            raise ValueError(
                f"unknown machine-scored signal(s) {unknown}: use {', '.join(MACHINE_SIGNALS)} "
                f"(human-scored ones, {', '.join(HUMAN_SIGNALS)}, live in rubric.toml)"
            )
        return value


class Pack(BaseModel):
    """A loaded, validated challenge pack."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    root: Path
    spec: ChallengeFile
    rubric: dict[str, RubricSignal]
    builtin: bool = False

    @property
    def id(self) -> str:
        return self.spec.id

    def path(self, name: str) -> Path:
        """A file or folder of the pack."""
        return self.root / name

    @property
    def brief(self) -> str:
        return self.path("brief.md").read_text()


def load_pack(root: Path, *, builtin: bool = False) -> Pack:
    """Load and validate the pack in `root`, or raise PackError saying what and where."""
    if not root.is_dir():
        raise PackError(f"{root}: not a folder")
    if not (root / "challenge.toml").is_file():
        raise PackError(f"{root}: missing challenge.toml")
    spec = _model(root / "challenge.toml", ChallengeFile, _toml(root / "challenge.toml"))
    missing = [n for n in REQUIRED_FILES + KIND_FILES[spec.kind] if not (root / n).is_file()]
    missing += [f"{n}/" for n in REQUIRED_DIRS if not (root / n).is_dir()]
    if missing:
        raise PackError(f"{root}: missing {', '.join(missing)}")
    rubric_data = _toml(root / "rubric.toml")
    rubric = {
        name: _model(root / "rubric.toml", RubricSignal, data, prefix=name)
        for name, data in rubric_data.items()
    }
    unknown = sorted(set(rubric) - set(HUMAN_SIGNALS))
    if unknown:
        raise PackError(f"{root / 'rubric.toml'}: unknown human-scored signal(s) {unknown}")
    if not (root / "starter" / "proofwork.toml").is_file():
        what = "how to start the service" if spec.kind == "service" else "how to run the job"
        raise PackError(f"{root}: starter/proofwork.toml missing ({what})")
    if not any((root / "checks").glob("*.py")):
        raise PackError(f"{root / 'checks'}: no checks (*.py)")
    if (root / "load.toml").is_file():
        _check_load_plan(root / "load.toml")
    return Pack(root=root, spec=spec, rubric=rubric, builtin=builtin)


def _check_load_plan(path: Path) -> None:
    """The traffic mix and upstream latency must make a usable load test, so a pack with a bad
    one fails when it loads rather than halfway through a grade. A load.toml without any
    [[request]] declares no load test."""
    data = _toml(path)
    if "request" not in data:
        return
    try:
        LoadPlan.from_options(data)
    except PlanError as exc:
        raise PackError(f"{path}: {str(exc).removeprefix('load.toml: ')}") from exc


def _toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PackError(f"{path}: not valid TOML: {exc}") from exc


M = TypeVar("M", bound=BaseModel)


def _model(path: Path, model: type[M], data: object, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in ((prefix,) if prefix else ()) + tuple(first["loc"]))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PackError(f"{path}: {where or 'top level'}: {first['msg']}{more}") from exc
