"""The tests probe's time limits and counts, without running a suite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from proofwork import runtime
from proofwork.challenges import load_pack
from proofwork.config import Settings, load_settings
from proofwork.probes.base import Budget, ProbeContext
from proofwork.probes.tests import DEFAULT_TEST_TIMEOUT_S, limits_s, parse_summary
from proofwork.sandbox import UnsafeSandbox

PACKS = Path(__file__).parent.parent / "fixtures" / "packs"


def context(tmp_path: Path, settings: Settings, pack_budget: str = "") -> ProbeContext:
    pack = None
    if pack_budget:
        shutil.copytree(PACKS / "greeter", tmp_path / "greeter")
        toml = tmp_path / "greeter" / "challenge.toml"
        toml.write_text(toml.read_text().replace("[budget]\n", f"[budget]\n{pack_budget}\n"))
        pack = load_pack(tmp_path / "greeter")
    env = runtime.Environment(python="python", tools_bin="/usr/bin", mounts=(), tool_mounts=())
    sandbox = UnsafeSandbox(tmp_path)
    return ProbeContext(tmp_path, sandbox, env, settings, Budget(60), tmp_path, challenge=pack)


def test_the_per_test_limit_comes_from_the_run_then_the_pack_then_the_default(
    tmp_path: Path,
) -> None:
    default = load_settings()
    assert limits_s(context(tmp_path / "a", default)) == (DEFAULT_TEST_TIMEOUT_S, 30.0)
    assert limits_s(context(tmp_path / "b", default, "test_timeout_s = 90"))[0] == 90
    per_run = load_settings(test_timeout_s=5, collect_timeout_s=7)
    assert limits_s(context(tmp_path / "c", per_run, "test_timeout_s = 90")) == (5, 7)


def test_counts_are_pytests_summary_with_subtests_apart() -> None:
    # pytest 9's "3 failed, 3 passed, 5 subtests passed": two of the failures are subtests.
    summary = {"passed": 3, "failed": 3, "subtests passed": 5, "subtests failed": 2}
    counts = parse_summary(json.dumps(summary).encode())
    assert counts is not None
    assert (counts.passed, counts.failed, counts.subtests_passed) == (3, 3, 5)
    assert counts.total == 4  # tests, not subtests
    assert parse_summary(b"not json") is None
