"""The `mutation` probe: plant small bugs in the submission's source and count how many of them
its own tests catch, within a share of the run's time budget.

Mutants are generated here, on the host, by parsing (never running) the source. Everything that
runs candidate code happens in the sandbox, in two commands: one instrumented run of the suite
(which tests cover which line, and how long each takes) and one warm pytest session that forks
a child per mutant (see `proofwork_mutate`). When not every mutant fits in the time left, a
seeded, stratified random sample is judged and the score comes with a 95% interval.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from proofwork.analysis.sources import SourceFile
from proofwork.challenges import Pack
from proofwork.evidence import Evidence, Finding, MetricValue, Severity, Status
from proofwork.integrity import controls
from proofwork.mutation.coverage_map import CoverageMap, MapError, plan_entry
from proofwork.mutation.extreme import EXTREME
from proofwork.mutation.model import Caught, Generated, Mutant, Outcome, Result
from proofwork.mutation.mutants import generate, generate_extreme
from proofwork.mutation.operators import Profile
from proofwork.mutation.sampling import DEFAULT_SEED, ladder, tier_of, tiered_order
from proofwork.mutation.score import (
    CAUGHT,
    FunctionTally,
    Score,
    by_function,
    score,
    tiered_score,
)
from proofwork.probes.base import OUT, ProbeContext
from proofwork.probes.tests import EXCLUDE_ALSO, MAP_FILE, OMIT, PYTEST_ARGS, coverage_rc
from proofwork.sandbox.base import WORKSPACE, ExecResult, MiB
from proofwork.sandbox.process import read_capped

# Share of the run's remaining time. A challenge's later probes (acceptance, load, faults) need
# theirs, so it takes half unless the pack sets `[budget] mutation_s`; in a generic grade no
# later probe measures anything, so it takes nearly all of it.
CHALLENGE_SHARE = 0.5
GENERIC_SHARE = 0.9
MAP_SHARE = 0.6  # at most this much of the probe's time for the instrumented run
SETTLE_S = 3.0  # sandbox start and result writing, kept out of the runner's own deadline
FIRST_BATCH = 16
PSEUDO_RULE = "mutation.pseudo_tested"
SURVIVOR_FINDINGS_MAX = 200
EXTREME_RANK = -1  # the runner judges these one for one with the seeded sample's ...
EXTREME_SHARE = 0.5  # ... starting none after this share of its time (the sample needs it)
FUNCTIONS_ARTIFACT = "mutation.functions.json"  # per function, read by reports/mutation_view
FUNCTIONS_MAX = 300  # rows of that table (worst-tested first), to stay within artifact size
FILES_ARTIFACT = "mutation.files.json"  # per file in the order judged: mutants, judged
FILES_MAX = 2000


def mutation_files(ctx: ProbeContext, only: tuple[str, ...] = ()) -> list[SourceFile]:
    """The files the tests probe measures coverage of: source (not tests) under the source
    root, minus its omit patterns (mutants anywhere else could never be covered); with `only`,
    just the relative paths matching one of those globs."""
    root = ctx.environment.source_roots[0]
    found = []
    for source in ctx.source_tree().sources:
        full = f"{WORKSPACE}/{source.path}"
        if not full.startswith(root.rstrip("/") + "/"):
            continue
        if any(fnmatch.fnmatch(full, pattern) for pattern in OMIT):
            continue
        if only and not any(fnmatch.fnmatch(source.path, pattern) for pattern in only):
            continue
        found.append(source)
    return found


@dataclass
class Judged:
    """What the mutant phase produced, read back from the sandbox."""

    results: list[Result] = field(default_factory=list)
    sampled: int = 0
    notes: list[str] = field(default_factory=list)
    extreme: list[Result] = field(default_factory=list)  # one per function; not in the score
    tiers: list[int] = field(default_factory=list)  # mutants per tier, in the order judged
    order: list[Mutant] = field(default_factory=list)  # the tiers' joined order


@dataclass
class Measurement:
    """The evidence, and each judged mutant behind it (for benchmarks and deeper reports)."""

    evidence: Evidence
    judged: Judged = field(default_factory=Judged)
    generated: Generated = field(default_factory=Generated)


class MutationProbe:
    name = "mutation"
    stage = 25

    def __init__(
        self,
        *,
        profile: Profile | None = None,
        seed: int = DEFAULT_SEED,
        only: tuple[str, ...] = (),
        priority: tuple[tuple[str, ...], ...] = (),
        pytest_args: tuple[str, ...] = (),
    ) -> None:
        self.profile = profile or Profile()
        self.seed = seed
        self.only = only  # globs of relative paths to mutate (default: all source)
        # Tiers of globs whose files are mutated first, in that order; the rest come after
        # (see `sampling.tiered_order`): the time goes first where a planted bug matters most.
        self.priority = priority
        self.run_args = [*PYTEST_ARGS, *pytest_args]
        self._hashes: dict[str, str] = {}
        self._texts: dict[str, str] = {}

    def applies(self, ctx: ProbeContext) -> bool:
        """Any source file to mutate."""
        return bool(mutation_files(ctx, self.only))

    def run(self, ctx: ProbeContext) -> Evidence:
        """Generate mutants, map coverage, judge (a sample of) them, report the score."""
        return self.measure(ctx).evidence

    def measure(self, ctx: ProbeContext) -> Measurement:
        """`run`, keeping every judged mutant."""
        measured = Measurement(Evidence(self.name))
        evidence = measured.evidence
        allotted = self._allotment(ctx)
        deadline = time.monotonic() + allotted
        files = mutation_files(ctx, self.only)
        # The runner checks each file against the text the mutants were planted in (the
        # suite may rewrite files), so hashes are taken now, before anything runs.
        self._hashes = {f.path: hashlib.sha256(f.text.encode()).hexdigest() for f in files}
        self._texts = {f.path: f.text for f in files}
        clock = time.monotonic()
        generated = generate(files, profile=self.profile, exclude=EXCLUDE_ALSO)
        first = len(generated.mutants)
        extremes = generate_extreme(files, exclude=EXCLUDE_ALSO, first_id=first).mutants
        measured.generated = generated
        evidence.metrics["mutation.generate_s"] = round(time.monotonic() - clock, 3)
        evidence.metrics.update(_generation_metrics(generated))
        if not generated.mutants:
            evidence.metrics.update(_score_metrics(score([], total=0)))
            return measured
        clock = time.monotonic()
        cmap = self._map(ctx, evidence, deadline)
        evidence.metrics["mutation.map_s"] = round(time.monotonic() - clock, 3)
        if cmap is None:
            return measured
        clock = time.monotonic()
        judged = self._judge(ctx, evidence, (generated.mutants, extremes), cmap, deadline)
        evidence.metrics["mutation.run_s"] = round(time.monotonic() - clock, 3)
        measured.judged = judged
        final = tiered_score(judged.results, judged.tiers)
        evidence.metrics.update(_score_metrics(final))
        if self.priority:
            evidence.metrics.update(_priority_metrics(judged, final, len(generated.mutants)))
        evidence.add_artifact(FILES_ARTIFACT, file_table(judged))
        evidence.metrics.update(pseudo_tested_metrics(judged.extreme))
        if not final.judged and evidence.status is Status.OK:
            # Not a score of zero: nothing was measured.
            evidence.status = Status.TIMEOUT
            evidence.error = (
                f"no planted bug could be judged in the {allotted:.0f}s the probe had: the tests "
                "that run the sampled mutants take longer than that (give it more --budget)"
            )
        evidence.findings.extend(findings(judged.results, self.name))
        evidence.findings.extend(pseudo_tested_findings(judged.extreme, self.name))
        evidence.add_artifact(FUNCTIONS_ARTIFACT, function_table(judged))
        if judged.notes:
            evidence.add_artifact("mutation-notes", "\n".join(judged.notes))
        return measured

    def _allotment(self, ctx: ProbeContext) -> float:
        if isinstance(ctx.challenge, Pack):
            pack_budget = ctx.challenge.spec.budget.mutation_s
            wanted = pack_budget or ctx.budget.remaining_s * CHALLENGE_SHARE
        else:
            wanted = ctx.budget.remaining_s * GENERIC_SHARE
        return ctx.budget.share(wanted)

    # -- phase 1: which tests cover which lines -------------------------------------------

    def _map(self, ctx: ProbeContext, evidence: Evidence, deadline: float) -> CoverageMap | None:
        shared = shared_map(ctx)
        if shared is not None:
            evidence.metrics["mutation.map_shared"] = True
            return shared
        evidence.metrics["mutation.map_shared"] = False
        return self._own_map(ctx, evidence, deadline)

    def _own_map(
        self, ctx: ProbeContext, evidence: Evidence, deadline: float
    ) -> CoverageMap | None:
        source = ctx.environment.source_roots[0]
        # Line data is all the map needs; branch tracing would slow the suite for nothing.
        rc = coverage_rc(source, ctx.excluded).replace("branch = True", "branch = False")
        rc = rc.replace(f"data_file = {OUT}/.coverage", f"data_file = {OUT}/.coverage-map")
        (ctx.outdir / "map-coveragerc").write_text(rc)
        plan = {"rc": f"{OUT}/map-coveragerc", "pytest_args": self.run_args}
        (ctx.outdir / "map-plan.json").write_text(json.dumps(plan))
        wall = (deadline - time.monotonic()) * MAP_SHARE
        done = self._sandbox(ctx, "map", wall)
        evidence.add_artifact("map.log", done.text() + done.text("stderr"))
        evidence.stopped.extend(done.stopped)
        raw = read_capped(ctx.outdir / "map.json", 64 * MiB)
        if raw is None:
            evidence.status = Status.TIMEOUT if done.timed_out else Status.ERROR
            evidence.error = (
                f"the instrumented test run did not finish within {wall:.0f}s"
                if done.timed_out
                else f"the instrumented test run wrote no results (exit code {done.exit_code})"
            )
            return None
        try:
            return CoverageMap.from_json(raw)
        except MapError as exc:
            evidence.status, evidence.error = Status.ERROR, str(exc)
            return None

    # -- phase 2: judge the mutants ---------------------------------------------------------

    def _judge(
        self,
        ctx: ProbeContext,
        evidence: Evidence,
        mutants: tuple[list[Mutant], list[Mutant]],
        cmap: CoverageMap,
        deadline: float,
    ) -> Judged:
        """Judge the seeded order of the mutants until the time runs out and, one for one with
        them while in their share of the time, the covered extreme mutants (one per function,
        all of them: see `mutation.extreme`)."""
        classic, extremes = mutants
        tiers = tiered_order(classic, self.priority, self.seed)
        order = [m for tier in tiers for m in tier]
        extremes = sorted(extremes, key=lambda m: tier_of(m.path, self.priority))
        rank = {m.id: i for i, m in enumerate(order)}
        rank.update({m.id: EXTREME_RANK for m in extremes})
        covering = {m.id: cmap.covering(m) for m in [*classic, *extremes]}
        planned = [
            plan_entry(m, rank[m.id], covering[m.id], cmap.timeout_s(covering[m.id]))
            for m in [*extremes, *order]
            if covering[m.id]
        ]
        raw: dict[str, Any] = {"results": {}, "cutoff": len(order), "notes": []}
        next_id = max(m.id for m in [*classic, *extremes]) + 1
        planned, control_ids = controls.add(planned, self._texts, next_id)
        if planned:
            wall = deadline - time.monotonic()
            self._write_plan(ctx, [*classic, *extremes], planned, cmap, wall - SETTLE_S)
            done = self._sandbox(ctx, "run", wall)
            evidence.add_artifact("run.log", done.text() + done.text("stderr"))
            evidence.stopped.extend(done.stopped)
            read = _read_results(ctx)
            if read is None:
                evidence.status = Status.TIMEOUT if done.timed_out else Status.ERROR
                evidence.error = f"the mutant run wrote no results (exit code {done.exit_code})"
                read = {"results": {}, "cutoff": 0, "notes": []}
            raw = read
            evidence.findings.extend(controls.judge(control_ids, raw["results"]))
        judged = _collect(order, covering, cmap, raw)
        judged.tiers, judged.order = [len(t) for t in tiers], order
        judged.extreme = _collect(extremes, covering, cmap, {**raw, "cutoff": None}).results
        return judged

    def _write_plan(
        self,
        ctx: ProbeContext,
        mutants: list[Mutant],
        planned: list[dict[str, Any]],
        cmap: CoverageMap,
        deadline_s: float,
    ) -> None:
        files = {m.path: self._hashes[m.path] for m in mutants}
        classic = sum(m.operator != EXTREME for m in mutants)  # the sample is drawn from these
        plan = {
            "pytest_args": self.run_args,
            "files": files,
            "tests": cmap.tests,
            "durations": cmap.durations,
            "mutants": planned,
            "total": classic,
            "ladder": ladder(classic),
            "deadline_s": max(1.0, deadline_s),
            "workers": max(1, int(ctx.settings.cpus)),
            "first_batch": FIRST_BATCH,
            "extreme_share": EXTREME_SHARE,
        }
        (ctx.outdir / "plan.json").write_text(json.dumps(plan))

    def _sandbox(self, ctx: ProbeContext, mode: str, wall_s: float) -> ExecResult:
        argv = [ctx.environment.python, "-m", "proofwork_mutate", mode, OUT]
        limits = ctx.limits(max(1.0, wall_s))
        return ctx.sandbox.run(argv, limits=limits, env=ctx.environment.env, mounts=ctx.mounts())


def shared_map(ctx: ProbeContext) -> CoverageMap | None:
    """The map the tests probe's own coverage run recorded, when it carried
    `-p proofwork_mutate --proofwork-map=/out/map.json`: the suite then runs instrumented once
    per grade instead of twice. Probes' output folders sit side by side (`out/<probe>`)."""
    tests = ctx.previous.get("tests")
    if tests is None or tests.status is not Status.OK:
        return None
    raw = read_capped(ctx.outdir.parent / "tests" / MAP_FILE, 64 * MiB)
    if raw is None:
        return None
    try:
        return CoverageMap.from_json(raw)
    except MapError:
        return None


def _read_results(ctx: ProbeContext) -> dict[str, Any] | None:
    raw = read_capped(ctx.outdir / "results.json", 64 * MiB)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        return None
    return data


def _collect(
    order: list[Mutant], covering: dict[int, list[int]], cmap: CoverageMap, raw: dict[str, Any]
) -> Judged:
    """Results of the sampled prefix of `order` (everything before the runner's cut-off)."""
    cutoff = raw.get("cutoff")
    cutoff = len(order) if not isinstance(cutoff, int) else max(0, min(cutoff, len(order)))
    judged = Judged(sampled=cutoff, notes=[str(n) for n in raw.get("notes", [])][:50])
    messages: dict[str, Any] = raw["results"]
    for mutant in order[:cutoff]:
        if not covering[mutant.id]:
            judged.results.append(Result(mutant, Outcome.NOT_COVERED))
            continue
        message = messages.get(str(mutant.id))
        judged.results.append(_result(mutant, message, cmap))
    return judged


def _result(mutant: Mutant, message: Any, cmap: CoverageMap) -> Result:
    if not isinstance(message, dict):
        return Result(mutant, Outcome.ERROR, detail="no result from the runner")
    status = str(message.get("status"))
    try:
        outcome = Outcome(status)
    except ValueError:
        return Result(mutant, Outcome.ERROR, detail=f"unknown status {status!r}")
    by = message.get("by")
    killed_by = cmap.tests[by] if isinstance(by, int) and 0 <= by < len(cmap.tests) else None
    seconds = message.get("s")
    caught = message.get("caught")
    return Result(
        mutant,
        outcome,
        killed_by=killed_by,
        detail=str(message.get("detail") or "")[:300],
        seconds=float(seconds) if isinstance(seconds, int | float) else 0.0,
        # A kill the runner could not explain is not credited to an assertion.
        caught=(Caught(caught) if caught in set(Caught) else Caught.EXCEPTION)
        if outcome is Outcome.KILLED
        else None,
    )


def _priority_metrics(judged: Judged, final: Score, generated: int) -> dict[str, MetricValue]:
    """With priority tiers: the score of the first tier alone, and the mutants of the tiers
    the run did not reach (out of the score)."""
    first = score(judged.results[: judged.tiers[0]], total=judged.tiers[0])
    return {
        "mutation.priority_score_percent": first.percent if first.judged else None,
        "mutation.priority_sampled": first.sampled,
        "mutation.priority_total": first.total,
        "mutation.unreached": generated - final.total,
    }


def _generation_metrics(generated: Generated) -> dict[str, MetricValue]:
    return {
        "mutation.equivalent": generated.equivalent,
        "mutation.duplicate": generated.duplicate,
        "mutation.unparsable_files": len(generated.unparsable),
    }


def _score_metrics(final: Score) -> dict[str, MetricValue]:
    low, high = final.ci95
    measured = bool(final.judged)  # no score at all, rather than a score of zero
    return {
        "mutation.score_percent": final.percent if measured else None,
        "mutation.assertion_kill_percent": final.by_assertion,
        "mutation.ci95_low": low if measured else None,
        "mutation.ci95_high": high if measured else None,
        "mutation.killed": final.counts[Outcome.KILLED],
        "mutation.survived": final.counts[Outcome.SURVIVED],
        "mutation.timeout": final.counts[Outcome.TIMEOUT],
        "mutation.not_covered": final.counts[Outcome.NOT_COVERED],
        "mutation.errors": final.counts[Outcome.ERROR],
        "mutation.total": final.total,
        "mutation.sampled": final.sampled,
        "mutation.exact": final.exact,
    }


def pseudo_tested_metrics(extreme: list[Result]) -> dict[str, MetricValue]:
    """Functions whose tests run them but still pass when they do nothing (see `extreme`)."""
    checked = [r for r in extreme if r.outcome in (*CAUGHT, Outcome.SURVIVED)]
    pseudo = sum(r.outcome is Outcome.SURVIVED for r in checked)
    return {
        "mutation.functions_checked": len(checked),
        "mutation.pseudo_tested": pseudo,
        "mutation.pseudo_tested_percent": round(100.0 * pseudo / len(checked), 2)
        if checked
        else None,
    }


def pseudo_tested_findings(extreme: list[Result], probe: str = "mutation") -> list[Finding]:
    """One finding per pseudo-tested function, in source order."""
    found = sorted(
        (r for r in extreme if r.outcome is Outcome.SURVIVED),
        key=lambda r: (r.mutant.path, r.mutant.scopes[-1].line),
    )
    return [_pseudo_tested(r, probe) for r in found]


def _pseudo_tested(result: Result, probe: str) -> Finding:
    mutant = result.mutant
    name = f"{PurePosixPath(mutant.path).stem}.{mutant.function}"
    message = (
        f"{name} is pseudo-tested: tests run it, yet all of them still pass when its whole "
        f"body is replaced by `{mutant.replacement}`; nothing checks what it does."
    )
    line = mutant.scopes[-1].line
    return Finding(
        PSEUDO_RULE, Severity.MEDIUM, message, mutant.path, line, diff=mutant.diff, probe=probe
    )


def file_table(judged: Judged) -> str:
    """Per file, in the order the runner worked (priority tiers first): mutants planted and
    how many of them were judged; a file with none judged was not reached in the time."""
    rows: dict[str, dict[str, Any]] = {}
    for mutant in judged.order:
        rows.setdefault(mutant.path, {"path": mutant.path, "mutants": 0, "judged": 0})
        rows[mutant.path]["mutants"] += 1
    for result in judged.results:
        rows[result.mutant.path]["judged"] += 1
    return json.dumps({"files": list(rows.values())[:FILES_MAX]})


def function_table(judged: Judged) -> str:
    """Per function, worst-tested first: planted bugs judged, caught, caught by an assertion,
    and whether it is pseudo-tested (null when its extreme mutant was not judged)."""
    extreme = {(r.mutant.path, r.mutant.function): r.outcome for r in judged.extreme}
    rows = []
    for tally in by_function(judged.results)[:FUNCTIONS_MAX]:
        outcome = extreme.get((tally.path, tally.name.split(".", 1)[1]))
        rows.append(
            {
                "path": tally.path,
                "name": tally.name,
                "line": tally.line,
                "judged": tally.judged,
                "caught": tally.caught,
                "assertion_percent": tally.by_assertion,
                "pseudo_tested": None
                if outcome not in (*CAUGHT, Outcome.SURVIVED)
                else outcome is Outcome.SURVIVED,
            }
        )
    return json.dumps({"functions": rows})


def findings(results: list[Result], probe: str = "mutation") -> list[Finding]:
    """Per function, worst-tested first: a summary, then each surviving mutant with its diff."""
    found: list[Finding] = []
    listed = 0
    for tally in by_function(results):
        if not tally.unnoticed:
            continue
        severity = _severity(tally)
        found.append(_summary(tally, severity, probe))
        for result in tally.survivors:
            if listed >= SURVIVOR_FINDINGS_MAX:
                break
            listed += 1
            found.append(_survivor(tally, result, severity, probe))
    survivors = sum(r.outcome is Outcome.SURVIVED for r in results)
    if survivors > listed:
        note = f"{survivors - listed} more surviving mutants are not listed."
        found.append(Finding("mutation.survived", Severity.INFO, note, probe=probe))
    errors = [r for r in results if r.outcome is Outcome.ERROR]
    if errors:
        found.append(_errors(errors, probe))
    return found


def _errors(errors: list[Result], probe: str) -> Finding:
    """Mutants left out of the score, and why (most common reasons first)."""
    reasons = Counter(r.detail or "no reason given" for r in errors)
    why = "; ".join(f"{reason} ({n})" for reason, n in reasons.most_common(3))
    places = "\n".join(f"{r.mutant.path}:{r.mutant.line} {r.detail}" for r in errors[:20])
    bugs = "planted bug" if len(errors) == 1 else "planted bugs"
    message = f"{len(errors)} {bugs} could not be judged and are left out of the score: {why}."
    return Finding("mutation.not_judged", Severity.INFO, message, snippet=places, probe=probe)


def _severity(tally: FunctionTally) -> Severity:
    # Most of a function's planted bugs going unnoticed means its behaviour is barely pinned.
    return Severity.MEDIUM if tally.unnoticed * 2 > tally.judged else Severity.LOW


def _summary(tally: FunctionTally, severity: Severity, probe: str) -> Finding:
    survived = len(tally.survivors)
    uncovered = tally.unnoticed - survived
    parts = [f"{survived} survived its tests"] if survived else []
    parts += [f"{uncovered} on lines no test runs"] if uncovered else []
    message = (
        f"{tally.name}: {tally.unnoticed} of {tally.judged} planted bugs went unnoticed "
        f"({', '.join(parts)})."
    )
    return Finding("mutation.function", severity, message, tally.path, tally.line, probe=probe)


def _survivor(tally: FunctionTally, result: Result, severity: Severity, probe: str) -> Finding:
    mutant = result.mutant
    message = f"{tally.name}: a planted bug ({mutant.operator}) survived every test that runs it."
    return Finding(
        "mutation.survived",
        severity,
        message,
        path=mutant.path,
        line=mutant.line,
        column=mutant.column,
        diff=mutant.diff,
        probe=probe,
    )
