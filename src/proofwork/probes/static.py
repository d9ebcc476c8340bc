"""The `static` probe: lint findings, complexity, duplication and typing, without running code.

ruff runs inside the sandbox (it is a tool reading hostile files); the rest is pure parsing of
text in-process. Every measure covers the same files, those `analysis.sources` finds, so that
counts and their denominators agree.
"""

from __future__ import annotations

from statistics import fmean

from proofwork.analysis import complexity, duplication, sources
from proofwork.analysis.annotations import coverage as annotation_coverage
from proofwork.analysis.complexity import FunctionComplexity
from proofwork.analysis.sources import SourceFile, SourceTree
from proofwork.analysis.toolparse import (
    RUFF_SYNTAX_ERROR,
    ToolOutputError,
    checked_output,
    parse_ruff,
    record_failure,
)
from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.probes.base import ProbeContext
from proofwork.sandbox.base import WORKSPACE, MiB

# Rules about bugs and maintainability, not layout: graders must compare like with like, so the
# set is fixed here and the candidate's own configuration is ignored (--isolated).
RUFF_RULES = (
    "F",  # pyflakes: undefined names, unused imports and variables, broken format strings
    "E4",  # imports not at the top of the module
    "E7",  # statements: bare except, comparisons to None/True, ambiguous names
    "E9",  # files ruff cannot read or parse
    "W6",  # invalid escape sequences (errors in future Pythons)
    "B",  # bugbear: mutable defaults, closures over loop variables, swallowed exceptions
    "BLE",  # blind `except Exception`
    "ASYNC",  # blocking calls inside async code: they stall a whole service
    "PLE",  # pylint errors
    "PLW",  # pylint warnings: global statements, redefined loop names, unchecked subprocesses
    "DTZ",  # naive datetimes
    "LOG",  # logging misuse
    "ERA",  # commented-out code
    "PERF1",  # needless list() casts and dict iteration
    "RET502",  # a bare `return` in a function that returns values
    "RET503",  # falling off the end of a function that returns values
    "SIM115",  # files opened without a context manager
    "PIE794",  # a class field defined twice
    "PIE796",  # duplicate enum values
    "RUF006",  # asyncio tasks created and dropped (they can be garbage collected mid-flight)
    "RUF008",  # mutable dataclass defaults
    "RUF009",  # calls in dataclass defaults (evaluated once, shared)
    "RUF012",  # mutable class attributes
    "RUF013",  # implicit Optional
    "RUF017",  # quadratic list summation
    "RUF018",  # assignments inside assert (gone under -O)
    "RUF024",  # mutable values shared by dict.fromkeys
)
RUFF_IGNORED = (
    "B008",  # FastAPI's `= Depends()` defaults are idiomatic; B006 still catches mutable ones
    "B905",  # zip(strict=) is a style choice more than a bug
)
RUFF_WALL_S = 60.0
TOOL_OUTPUT_BYTES = 16 * MiB  # ruff's JSON is ~600 bytes a finding: room for ~25,000

MAX_RUFF_FINDINGS = 500
MAX_DUPLICATE_FINDINGS = 50
COGNITIVE_THRESHOLD = 15  # SonarSource's default for S3776
CYCLOMATIC_THRESHOLD = 10  # McCabe's own suggested limit
WORST_FUNCTIONS = 10
MODULE_LINES_LIMIT = 600  # STYLE.md: split by noun before ~600 lines


class StaticProbe:
    """Lint (ruff, in the sandbox), complexity, duplication and annotation coverage."""

    name = "static"
    stage = 10

    def applies(self, ctx: ProbeContext) -> bool:
        """Only when the submission has a Python file."""
        return sources.has_python(ctx.workspace)

    def run(self, ctx: ProbeContext) -> Evidence:
        """Measure in-process first, then lint; a failed lint keeps the other measures."""
        evidence = Evidence(probe=self.name)
        tree = ctx.source_tree()
        measure_code(tree, evidence)
        run_ruff(ctx, tree, evidence)
        return evidence


def measure_code(tree: SourceTree, evidence: Evidence) -> None:
    """Size, complexity, duplication and annotation metrics and findings, from text alone."""
    parsed, broken = sources.parse_all(tree.files)
    source_trees = [(f, t) for f, t in parsed if not f.is_test]
    report = complexity.measure(source_trees)
    broken += report.unparsable
    blocks = duplication.find(tree.sources)
    typed = annotation_coverage(t for _, t in source_trees)
    evidence.metrics.update(size_metrics(tree, unparsable=len(broken)))
    evidence.metrics.update(function_metrics(report.functions))
    evidence.metrics["static.duplicated_lines"] = blocks.duplicated_lines
    evidence.metrics["static.duplicated_percent"] = round(blocks.percent, 2)
    evidence.metrics["static.annotation_percent"] = _rounded(typed.percent)
    evidence.findings += [_skipped(path, why) for path, why in tree.skipped]
    evidence.findings += [_unparsable(item) for item in broken]
    evidence.findings += complex_function_findings(report.functions)
    evidence.findings += [_large_module(f) for f in tree.sources if f.lines > MODULE_LINES_LIMIT]
    evidence.findings += duplicate_findings(blocks)


def size_metrics(tree: SourceTree, *, unparsable: int) -> dict[str, MetricValue]:
    """Lines and files, source and test."""
    return {
        "static.loc": tree.loc,
        "static.source_files": len(tree.sources),
        "static.test_loc": tree.test_loc,
        "static.unparsable_files": unparsable,
        "static.module_length_max": max((f.lines for f in tree.sources), default=0),
    }


def function_metrics(functions: list[FunctionComplexity]) -> dict[str, MetricValue]:
    """Complexity and length statistics over functions (None where there is no function)."""
    cyclomatic = [f.cyclomatic for f in functions]
    cognitive = [f.cognitive for f in functions]
    lengths = [f.length for f in functions]
    return {
        "static.functions": len(functions),
        "static.complexity_mean": _rounded(fmean(cyclomatic) if cyclomatic else None),
        "static.complexity_p90": complexity.percentile(cyclomatic, 90),
        "static.complexity_max": max(cyclomatic, default=None),
        "static.cognitive_mean": _rounded(fmean(cognitive) if cognitive else None),
        "static.cognitive_max": max(cognitive, default=None),
        "static.functions_over_complexity_10": sum(c > CYCLOMATIC_THRESHOLD for c in cyclomatic),
        "static.function_length_p90": complexity.percentile(lengths, 90),
        "static.function_length_max": max(lengths, default=None),
    }


def complex_function_findings(functions: list[FunctionComplexity]) -> list[Finding]:
    """The worst functions by cognitive complexity, above the threshold."""
    over = [f for f in functions if f.cognitive > COGNITIVE_THRESHOLD]
    worst = sorted(over, key=lambda f: (-f.cognitive, f.path, f.line))[:WORST_FUNCTIONS]
    return [
        Finding(
            rule="static.complex_function",
            severity=Severity.MEDIUM if f.cognitive > 2 * COGNITIVE_THRESHOLD else Severity.LOW,
            message=(
                f"{f.name} has cognitive complexity {f.cognitive} (over {COGNITIVE_THRESHOLD}), "
                f"cyclomatic {f.cyclomatic}, {f.length} lines"
            ),
            path=f.path,
            line=f.line,
            probe="static",
        )
        for f in worst
    ]


def duplicate_findings(found: duplication.Duplication) -> list[Finding]:
    """The largest duplicated blocks, capped, with a note when some were left out."""
    findings = [_duplicate(b) for b in found.blocks[:MAX_DUPLICATE_FINDINGS]]
    if len(found.blocks) > MAX_DUPLICATE_FINDINGS:
        findings.append(_capped("static.duplicate", len(found.blocks), MAX_DUPLICATE_FINDINGS))
    return findings


def ruff_argv(tools_bin: str) -> list[str]:
    """The fixed ruff command line: our rules, none of the candidate's settings."""
    return [
        f"{tools_bin}/ruff",
        "check",
        "--isolated",  # the candidate's config cannot switch rules off ...
        "--ignore-noqa",  # ... nor can its suppression comments
        "--no-respect-gitignore",  # a .gitignore must not hide code from the grader
        "--no-cache",
        "--output-format=json",
        "--select",
        ",".join(RUFF_RULES),
        "--ignore",
        ",".join(RUFF_IGNORED),
        "--exit-zero",
        WORKSPACE,
    ]


def run_ruff(ctx: ProbeContext, tree: SourceTree, evidence: Evidence) -> None:
    """Lint in the sandbox and record the findings; a failed run marks the evidence."""
    result = ctx.sandbox.run(
        ruff_argv(ctx.environment.tools_bin),
        limits=ctx.limits(RUFF_WALL_S, output_bytes=TOOL_OUTPUT_BYTES),
        env=ctx.environment.env,
        mounts=ctx.mounts() + ctx.environment.tool_mounts,
    )
    evidence.stopped.extend(result.stopped)
    evidence.add_artifact("ruff.json", result.text())
    if result.stderr:
        evidence.add_artifact("ruff.stderr", result.text("stderr"))
    try:
        found = parse_ruff(checked_output("ruff", result), probe="static")
    except ToolOutputError as exc:
        record_failure(evidence, exc)
        return
    record_ruff(found, tree, evidence)


def record_ruff(found: list[Finding], tree: SourceTree, evidence: Evidence) -> None:
    """Keep findings on the analysed files, count them per 1,000 lines, list the worst."""
    analysed = {f.path for f in tree.files}
    # Syntax errors are reported once, as static.unparsable, from our own parse.
    kept = [f for f in found if f.path in analysed and f.rule != f"ruff.{RUFF_SYNTAX_ERROR}"]
    kept.sort(key=lambda f: (-f.severity.rank, f.path or "", f.line or 0, f.rule))
    lines = tree.loc + tree.test_loc
    evidence.metrics["static.ruff_findings"] = len(kept)
    evidence.metrics["static.ruff_per_kloc"] = round(1000 * len(kept) / lines, 2) if lines else None
    evidence.findings.extend(kept[:MAX_RUFF_FINDINGS])
    if len(kept) > MAX_RUFF_FINDINGS:
        evidence.findings.append(_capped("ruff", len(kept), MAX_RUFF_FINDINGS))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _skipped(path: str, why: str) -> Finding:
    return Finding(
        "static.skipped_file", Severity.INFO, f"not analysed: {why}", path, probe="static"
    )


def _unparsable(item: sources.UnparsableSource) -> Finding:
    return Finding(
        "static.unparsable",
        Severity.HIGH,
        f"cannot analyse: {item.reason}",
        item.path,
        item.line,
        probe="static",
    )


def _large_module(module: SourceFile) -> Finding:
    message = f"module has {module.lines} lines (over {MODULE_LINES_LIMIT}): split it by concept"
    return Finding("static.large_module", Severity.LOW, message, module.path, 1, probe="static")


def _duplicate(block: duplication.Block) -> Finding:
    return Finding(
        rule="static.duplicate",
        severity=Severity.LOW,
        message=f"{block.lines} duplicated lines: {block.describe()}",
        path=block.first_path,
        line=block.first_start,
        probe="static",
    )


def _capped(what: str, total: int, shown: int) -> Finding:
    message = f"{total} {what} findings, only the {shown} worst are listed"
    return Finding("static.findings_capped", Severity.INFO, message, probe="static")
