"""Challenge packs: loading with clear errors, discovery, kits, verify — with a team's own pack."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proofwork.challenges import PackError, discover, load_pack
from proofwork.challenges.kit import KitError, build_kit, tooling, unchanged_tooling
from proofwork.challenges.verify import judge_margin, judge_reference, judge_starter, levels, verify
from proofwork.cli import app
from proofwork.config import Settings, load_settings
from proofwork.engine import GradeRequest, grade
from proofwork.evidence import Report

PACKS = Path(__file__).parent / "fixtures" / "packs"


@pytest.fixture
def team_pack(tmp_path: Path) -> Path:
    """A copy of the tiny team-authored `greeter` pack that a test may break."""
    target = tmp_path / "greeter"
    shutil.copytree(PACKS / "greeter", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_team_pack_loads_from_a_folder(team_pack: Path) -> None:
    pack = load_pack(team_pack)
    assert pack.id == "greeter"
    assert list(pack.spec.signals) == ["production_readiness"]
    assert pack.rubric["tradeoff_reasoning"].material == ("DECISIONS.md",)


def test_a_missing_file_is_named(team_pack: Path) -> None:
    (team_pack / "rubric.toml").unlink()
    shutil.rmtree(team_pack / "checks")
    with pytest.raises(PackError, match=r"missing rubric.toml, checks/"):
        load_pack(team_pack)


def test_a_bad_threshold_names_the_file_and_place(team_pack: Path) -> None:
    edit(team_pack / "challenge.toml", '"acceptance.passed >= 1"', '"acceptance.passed about 1"')
    with pytest.raises(PackError) as caught:
        load_pack(team_pack)
    message = str(caught.value)
    assert "challenge.toml" in message
    assert "signals.production_readiness.levels.1.require" in message
    assert "bad threshold 'acceptance.passed about 1'" in message


def test_thresholds_are_never_code(team_pack: Path) -> None:
    edit(team_pack / "challenge.toml", '"acceptance.passed >= 1"', "\"__import__('os') >= 1\"")
    with pytest.raises(PackError, match="bad threshold"):
        load_pack(team_pack)


def test_an_unknown_signal_and_missing_levels_are_refused(team_pack: Path) -> None:
    edit(team_pack / "challenge.toml", "[signals.production_readiness]", "[signals.charisma]")
    with pytest.raises(PackError, match="unknown machine-scored signal"):
        load_pack(team_pack)


def test_levels_must_run_from_zero_to_four(team_pack: Path) -> None:
    edit(team_pack / "challenge.toml", "level = 3\n", "level = 5\n")
    with pytest.raises(PackError, match="level"):
        load_pack(team_pack)


def test_a_load_plan_with_a_bad_upstream_latency_is_refused(team_pack: Path) -> None:
    (team_pack / "load.toml").write_text(
        '[[request]]\nname = "hello"\npath = "/"\n\n'
        "[upstream_latency]\nmedian_ms = 100\np99_ms = 20\n"
    )
    with pytest.raises(PackError, match=r"load.toml: latency needs 0 < median_ms <= p99_ms"):
        load_pack(team_pack)


def test_broken_toml_is_reported_with_the_file(team_pack: Path) -> None:
    (team_pack / "rubric.toml").write_text("[tradeoff_reasoning\n")
    with pytest.raises(PackError, match=r"rubric.toml: not valid TOML"):
        load_pack(team_pack)


def test_discovery_adds_team_packs_and_reports_broken_ones(team_pack: Path, tmp_path: Path) -> None:
    clash = tmp_path / "clash"
    shutil.copytree(team_pack, clash)
    catalogue = discover(os.pathsep.join([str(team_pack), str(clash), str(tmp_path / "nope")]))
    assert catalogue.packs["greeter"].root == team_pack
    assert not catalogue.packs["greeter"].builtin
    reasons = " ".join(catalogue.broken.values())
    assert "already taken" in reasons
    assert "not a folder" in reasons


def test_the_kit_is_a_starter_repo_with_one_commit(team_pack: Path, tmp_path: Path) -> None:
    out = tmp_path / "kit"
    build_kit(load_pack(team_pack), out)
    assert (out / "brief.md").is_file() and (out / "openapi.yaml").is_file()
    assert (out / "starter" / "server.py").is_file()
    log = subprocess.run(
        ["git", "log", "--format=%an %s"], cwd=out / "starter", capture_output=True, text=True
    )
    assert log.stdout.count("\n") == 1
    assert log.stdout.startswith("Proofwork ")
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=out / "starter", capture_output=True, text=True
    )
    assert status.stdout == ""
    with pytest.raises(KitError, match="not empty"):
        build_kit(load_pack(team_pack), out)


def test_the_kits_tooling_left_unchanged_is_not_the_candidates_but_a_changed_copy_is(
    team_pack: Path, tmp_path: Path
) -> None:
    (team_pack / "selfcheck.py").write_text("print('checking')\n")
    pack = load_pack(team_pack)
    assert set(tooling(pack)) == {"brief.md", "openapi.yaml", "selfcheck.py"}
    build_kit(pack, tmp_path / "kit")
    starter = tmp_path / "kit" / "starter"
    assert unchanged_tooling(pack, starter) == {"brief.md", "openapi.yaml", "selfcheck.py"}
    (starter / "selfcheck.py").write_text("print('checking')\nprint('my own change')\n")
    (starter / "openapi.yaml").unlink()
    (starter / "brief.md").rename(starter / "BRIEF.md")
    assert unchanged_tooling(pack, starter) == set()


@pytest.fixture
def team_settings(team_pack: Path) -> Settings:
    return load_settings(challenges_path=str(team_pack))


@pytest.mark.slow
def test_verify_passes_for_a_pack_that_tells_reference_from_starter(
    team_settings: Settings,
) -> None:
    pack = discover(team_settings.challenges_path).get("greeter")
    verdict = verify(pack, team_settings)
    assert verdict.problems == []
    assert levels(verdict.reference)["production_readiness"] == 4
    assert levels(verdict.starter)["production_readiness"] == 1


@pytest.mark.slow
def test_verify_fails_loudly_when_the_starter_is_already_good(
    team_pack: Path, team_settings: Settings
) -> None:
    shutil.rmtree(team_pack / "starter")
    shutil.copytree(team_pack / "reference", team_pack / "starter")
    result = CliRunner().invoke(
        app, ["challenge", "verify", "greeter"], env={"PROOFWORK_CHALLENGES_PATH": str(team_pack)}
    )
    assert result.exit_code == 1
    assert "starter passes checks aimed at planted failures" in result.output
    assert "greet.rejects_empty_name" in result.output


@pytest.mark.slow
def test_grading_twice_gives_the_same_checks_and_levels(
    team_pack: Path, team_settings: Settings
) -> None:
    reports = [
        grade(
            GradeRequest(source=team_pack / "starter", settings=team_settings, challenge="greeter")
        )
        for _ in range(2)
    ]
    outcomes = [
        sorted(f.rule for f in r.findings if f.rule.startswith("acceptance.")) for r in reports
    ]
    assert (
        outcomes[0]
        == outcomes[1]
        == ["acceptance.greet.health", "acceptance.greet.rejects_empty_name"]
    )
    assert levels(reports[0]) == levels(reports[1])
    assert reports[0].review == {}


@pytest.mark.slow
def test_review_material_and_awaiting_signals_reach_the_report(
    team_settings: Settings, team_pack: Path
) -> None:
    report = grade(
        GradeRequest(source=team_pack / "reference", settings=team_settings, challenge="greeter")
    )
    assert "Empty names are rejected" in report.review["DECISIONS.md"]
    awaiting = {s["name"]: s for s in report.signals if s["status"] == "awaiting review"}
    assert awaiting["tradeoff_reasoning"]["material"] == ["DECISIONS.md"]
    assert [lv["level"] for lv in awaiting["tradeoff_reasoning"]["levels"]] == [0, 1, 2, 3, 4]


def test_a_challenge_submission_without_a_start_command_is_a_finding(
    team_pack: Path, team_settings: Settings, tmp_path: Path
) -> None:
    submission = tmp_path / "no-config"
    shutil.copytree(team_pack / "reference", submission)
    (submission / "proofwork.toml").unlink()
    report = grade(
        GradeRequest(
            source=submission, settings=team_settings, challenge="greeter", probes=["acceptance"]
        )
    )
    finding = next(f for f in report.findings if f.rule == "acceptance.no_service")
    assert "proofwork.toml is missing" in finding.message
    assert report.metrics["service.started"] is False


def test_an_unknown_challenge_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["grade", str(tmp_path), "--challenge", "nope"])
    assert result.exit_code == 2
    assert "unknown challenge 'nope'" in result.output


def report_with(metrics: dict[str, float], findings: list[tuple[str, str]]) -> Report:
    """A hand-made report: metrics under one probe, findings as (probe, rule)."""
    from proofwork.evidence import Evidence, Finding, Severity, SubmissionInfo

    evidence = [Evidence("load", metrics=dict(metrics))]
    evidence += [
        Evidence(probe, findings=[Finding(rule, Severity.HIGH, "m", probe=probe)])
        for probe, rule in findings
    ]
    return Report(SubmissionInfo("a" * 64, "s", "directory", 1, 1), evidence)


def test_verify_names_what_keeps_a_pack_from_telling_the_two_apart(team_pack: Path) -> None:
    edit(
        team_pack / "challenge.toml",
        "[verify.starter_max_level]",
        'reference_clean_probes = ["faults"]\nreference_forbidden_rules = ["input.server_error"]\n'
        'starter_findings_in = ["durability"]\n'
        '[verify.reference_beats_starter]\n"load.knee_concurrency" = 4\n\n'
        "[verify.starter_max_level]",
    )
    pack = load_pack(team_pack)
    reference = report_with(
        {"load.knee_concurrency": 8}, [("faults", "faults.hang"), ("input", "input.server_error")]
    )
    starter = report_with({"load.knee_concurrency": 4}, [])
    problems = " | ".join(
        judge_reference(pack, reference) + judge_starter(pack, starter)
        + judge_margin(pack, reference, starter)
    )  # fmt: skip
    assert "reference has faults findings: faults.hang" in problems
    assert "reference has input.server_error findings" in problems
    assert "starter has no durability findings" in problems
    assert "reference load.knee_concurrency = 8 is not 4x the starter's (4)" in problems


def test_verify_names_the_thresholds_that_keep_the_reference_below_its_level(
    team_pack: Path,
) -> None:
    pack = load_pack(team_pack)
    reference = report_with({}, [])
    unmet = ["load.relative_capacity >= 0.4 (measured 0.31)"]
    reference.signals = [
        {"name": name, "status": "scored", "level": 2, "next_level": unmet}
        for name in pack.spec.signals
    ]
    problems = judge_reference(pack, reference)
    assert any(
        p.endswith("is at level 2, needs at least 3 (unmet: load.relative_capacity >= 0.4 "
                   "(measured 0.31))") for p in problems
    ), problems  # fmt: skip
