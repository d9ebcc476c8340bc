"""The bundled `sales-ledger` pack (a batch job): it loads, its generator is deterministic and
messy, verify tells its reference from its starter, and a candidate's kit works."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from proofwork import runtime
from proofwork.challenges import Pack, discover
from proofwork.challenges.kit import build_kit
from proofwork.cli import app
from proofwork.config import Settings
from proofwork.engine import GradeRequest, grade
from proofwork.harness.checks import load_checks, load_helpers
from proofwork.probes import default_registry
from proofwork.probes.base import not_applicable
from proofwork.probes.harnessed import SubmissionConfigError, start_command
from proofwork.probes.job_durability import durability_findings, durability_metrics
from proofwork.probes.job_input import input_findings, input_metrics
from proofwork.probes.job_operability import operability_findings, operability_metrics
from proofwork.probes.scale import findings, scale_metrics


@pytest.fixture(scope="module")
def pack(settings: Settings) -> Pack:
    return discover(settings.challenges_path).get("sales-ledger")


@pytest.fixture(scope="module")
def data(pack: Pack) -> ModuleType:
    return load_helpers(pack.path("checks"), "_data")


def test_the_pack_is_a_job_with_a_check_for_every_rule(pack: Pack) -> None:
    assert pack.spec.kind == "job"
    assert not pack.path("openapi.yaml").exists()
    checks = load_checks(pack.path("checks"))
    rules = set(re.findall(r"\*\*(R\d+) ", pack.brief))
    assert rules == {c.rule for c in checks} == {f"R{n}" for n in range(1, 13)}
    known = {c.id for c in checks}
    assert set(pack.spec.verify.starter_must_fail) <= known
    aimed = {c.rule for c in checks if c.id in pack.spec.verify.starter_must_fail}
    assert aimed == rules, "every rule has a check aimed at the starter's planted failure"


def test_the_generator_gives_the_same_bytes_for_a_seed(data: Any) -> None:
    assert data.generate(5).files == data.generate(5).files
    assert data.generate(5).files != data.generate(6).files


def test_generated_exports_are_messy_in_every_way_the_brief_names(data: Any) -> None:
    dataset = data.generate(11, days=3, per_day=60)
    files = dataset.files
    everything = b"".join(files.values())
    market = b"".join(v for k, v in files.items() if k.startswith("market-"))
    popup = b"".join(v for k, v in files.items() if k.startswith("popup-"))
    assert all(v.startswith(b"\xef\xbb\xbf") for k, v in files.items() if k.startswith("market-"))
    assert "Café".encode("cp1252") in popup  # cp1252, not UTF-8
    assert re.search(rb";\d+,\d\d;", market)  # decimal commas
    assert b"5pm,\nback door" in everything  # an embedded newline in a quoted field
    assert b" EUR " in everything  # stray whitespace
    assert b"refund" in everything and b"correction" in everything  # late changes
    headers = {v.lstrip(b"\xef\xbb\xbf").split(b"\r\n", 1)[0] for v in files.values()}
    assert any(b"note" in h for h in headers)  # schema drift: an added column
    counts = dataset.ledger.counts
    assert sum(c["duplicates"] for c in counts.values()) > 0
    assert sum(c["quarantined"] for c in counts.values()) > 0
    for c in counts.values():
        assert c["read"] == c["accepted"] + c["quarantined"] + c["duplicates"]


def test_a_large_day_is_streamed_to_disk(data: Any, tmp_path: Path) -> None:
    totals = data.write_large(tmp_path, 3, 2_000)
    lines = (tmp_path / "web-2026-06-01.csv").read_text().splitlines()
    assert len(lines) == 2_001
    assert sum(totals.values()) > 0


def test_the_scale_day_is_several_times_larger_than_the_memory_limit(
    pack: Pack, data: Any, tmp_path: Path
) -> None:
    sample = 20_000
    data.write_large(tmp_path, pack.spec.job.hidden_seed, sample)
    per_row = (tmp_path / "web-2026-06-01.csv").stat().st_size / sample
    day_bytes = per_row * pack.spec.job.scale_rows
    assert day_bytes >= 4 * pack.spec.job.scale_memory_mib * 1024 * 1024


def test_service_probes_say_they_do_not_apply_to_a_job(pack: Pack) -> None:
    class ServiceOnly:
        kinds = ("service",)

    class Context:
        challenge = pack

    reason = not_applicable(ServiceOnly(), Context())  # type: ignore[arg-type]
    assert reason == (
        "does not apply: it measures an HTTP service, and this challenge is a batch job"
    )


@pytest.mark.slow
def test_verify_tells_the_reference_from_the_starter() -> None:
    result = CliRunner().invoke(app, ["challenge", "verify", "sales-ledger"])
    assert result.exit_code == 0, result.output
    assert "verify passed" in result.output


@pytest.mark.slow
def test_the_kits_self_check_fails_the_starter_and_passes_the_reference(
    pack: Pack, settings: Settings, workdir: Path
) -> None:
    build_kit(pack, workdir / "kit")
    starter = workdir / "kit" / "starter"
    python = str(runtime.ensure_runtime(settings, "base", ()) / "bin" / "python")

    def self_check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, "selfcheck.py"], cwd=starter, capture_output=True, text=True, timeout=120
        )

    assert self_check().returncode == 1
    (starter / "ledger.py").unlink()
    shutil.rmtree(starter / "tests")
    for name in ("ledger", "tests", "proofwork.toml"):
        source = pack.path("reference") / name
        if source.is_dir():
            shutil.copytree(source, starter / name, dirs_exist_ok=True)
        else:
            shutil.copy2(source, starter / name)
    done = self_check()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS the sample's outputs are as expected" in done.stdout


def test_a_job_submission_names_its_command_under_job_run(tmp_path: Path) -> None:
    with pytest.raises(SubmissionConfigError, match=r"\[job\] run"):
        start_command(tmp_path, "job")
    (tmp_path / "proofwork.toml").write_text('[service]\nstart = "python -m app"\n')
    with pytest.raises(SubmissionConfigError, match=r"no \[job\] run command"):
        start_command(tmp_path, "job")
    (tmp_path / "proofwork.toml").write_text('[job]\nrun = "python -m ledger"\n')
    assert start_command(tmp_path, "job") == "python -m ledger"


def test_a_job_stopped_by_its_memory_limit_is_reported_as_such() -> None:
    scale = {
        "rows": 400_000,
        "input_bytes": 20 * 1024 * 1024,
        "memory_limit_bytes": 16 * 1024 * 1024,
        "wall_s": 0.7,
        "stopped": ["memory"],
        "completed": False,
        "correct": False,
        "peak_memory_bytes": 15 * 1024 * 1024,
    }
    metrics = scale_metrics(scale)
    assert metrics["scale.stopped_by_memory"] is True
    assert metrics["scale.rows_per_s"] == 0.0
    (finding,) = findings(scale)
    assert finding.rule == "scale.out_of_memory"
    assert "stopped by its 16 MiB memory limit on a day of 400000 rows" in finding.message


def test_only_a_right_answer_counts_towards_speed() -> None:
    scale = {"rows": 1000, "wall_s": 2.0, "completed": True, "correct": False, "problem": "x"}
    assert scale_metrics(scale)["scale.rows_per_s"] == 0.0
    assert findings(scale)[0].rule == "scale.wrong"
    assert scale_metrics({**scale, "correct": True})["scale.rows_per_s"] == 500.0


def test_durability_judges_each_kill_by_what_it_left() -> None:
    part = {
        "clean_ok": True,
        "kills": [
            {"at_s": 0.4, "half_written": [], "rerun_ok": True, "changed": []},
            {"at_s": 1.2, "half_written": ["revenue.csv"], "rerun_ok": True, "changed": []},
            {"at_s": 2.0, "half_written": [], "rerun_ok": True, "changed": ["payouts.csv"]},
            {"at_s": 2.1, "half_written": [], "rerun_ok": False, "rerun": "exit 1", "changed": []},
        ],
    }
    metrics = durability_metrics(part)
    assert (metrics["durability.kills"], metrics["durability.half_written"]) == (4, 1)
    assert (metrics["durability.changed"], metrics["durability.rerun_failed"]) == (1, 1)
    rules = [f.rule for f in durability_findings(part)]
    assert rules == ["durability.half_written", "durability.changed", "durability.rerun_failed"]
    assert [f.rule for f in durability_findings({"clean_ok": False})] == ["durability.no_clean_run"]


def test_one_probe_name_measures_a_service_and_a_job_each_its_own_way(pack: Pack) -> None:
    probe = default_registry(plugins=False).create(["durability"])[0]
    assert probe.kinds == ("service", "job")  # type: ignore[attr-defined]

    class Context:
        challenge = pack

    assert probe.applies(Context())  # type: ignore[arg-type]


def test_fuzzed_inputs_are_judged_on_counts_and_reasons(data: Any) -> None:
    example = {"file": "web-2026-06-01.csv", "records": 3}
    summary = {"files": {"web-2026-06-01.csv": {"read": 3, "accepted": 1, "quarantined": 1}}}
    outputs = {
        "summary.json": json.dumps(summary).encode(),
        "quarantine.csv": b"file,row,reason\nweb-2026-06-01.csv,2,because\n",
    }
    assert [kind for kind, _ in data.judge_fuzz(example, outputs)] == ["lost", "unexplained"]
    summary["files"]["web-2026-06-01.csv"]["duplicates"] = 1
    outputs["summary.json"] = json.dumps(summary).encode()
    outputs["quarantine.csv"] = b"file,row,reason\nweb-2026-06-01.csv,2,bad_amount\n"
    assert data.judge_fuzz(example, outputs) == []
    crashed = {"examples": 2, "failures": [{"kind": "crash", "message": "exit 1", "input": "x"}]}
    assert input_metrics(crashed)["input.crashes"] == 1
    assert [f.rule for f in input_findings(crashed)] == ["input.crash"]


def test_operability_of_a_job_is_read_from_the_other_probes_runs() -> None:
    seen: dict[str, Any] = {
        "job.ran": True,
        "job.structured_logs_percent": 40.0,
        "scale.completed": True,
        "scale.longest_silence_s": 31.5,
    }
    metrics = operability_metrics(seen, refused_ok=False)
    assert metrics["operability.progress_on_long_runs"] is False
    rules = [f.rule for f in operability_findings(metrics)]
    assert rules == [
        "operability.unstructured_logs",
        "operability.wrong_command",
        "operability.silent_long_run",
    ]
    quiet = {**seen, "job.structured_logs_percent": 100.0, "scale.longest_silence_s": 2.0}
    assert operability_findings(operability_metrics(quiet, refused_ok=True)) == []


WRITER = Path(__file__).parent / "fixtures" / "jobs" / "writer" / "writer.py"


def _graded_writer(root: Path, settings: Settings, flags: str) -> Any:
    """The durability probe's evidence on the writer job (tests/fixtures/jobs/writer)."""
    root.mkdir()
    shutil.copy(WRITER, root / "writer.py")
    run = f"python writer.py --input $INPUT_DIR --output $OUTPUT_DIR --date $DATE {flags}"
    (root / "proofwork.toml").write_text(f'[job]\nrun = "{run.strip()}"\n')
    request = GradeRequest(
        source=root, settings=settings, challenge="sales-ledger", probes=["durability"]
    )
    (evidence,) = [e for e in grade(request).evidence if e.probe == "durability"]
    return evidence


@pytest.mark.slow
def test_durability_catches_a_job_that_writes_its_output_in_place(
    settings: Settings, tmp_path: Path
) -> None:
    evidence = _graded_writer(tmp_path / "in-place", settings, "--in-place")
    metrics = evidence.metrics
    assert metrics["durability.clean_ok"] is True and metrics["durability.kills"] == 4
    assert metrics["durability.half_written"] >= 1
    torn = [f for f in evidence.findings if f.rule == "durability.half_written"]
    assert torn and "digest.csv" in torn[0].message


@pytest.mark.slow
def test_durability_finds_nothing_torn_when_a_job_renames_a_finished_file_into_place(
    settings: Settings, tmp_path: Path
) -> None:
    evidence = _graded_writer(tmp_path / "atomic", settings, "")
    metrics = evidence.metrics
    assert metrics["durability.clean_ok"] is True and metrics["durability.kills"] == 4
    assert metrics["durability.half_written"] == 0 and metrics["durability.changed"] == 0
    assert not [f for f in evidence.findings if f.rule.startswith("durability.")]
