"""Control mutants: the original text planted in place of itself, judged among the first."""

from __future__ import annotations

from typing import Any

from proofwork.evidence import TAMPERING
from proofwork.integrity import controls

TEXT = "def f(a):\n    return a + 1\n"


def entry(number: int, kind: str = "function") -> dict[str, Any]:
    return {"id": number, "rank": number, "path": "m.py", "start": 23, "end": 24,
            "replacement": "-", "kind": kind, "tests": [0]}  # fmt: skip


def test_controls_copy_early_function_mutants_with_the_original_text() -> None:
    planned = [entry(0, "module"), *(entry(i) for i in range(1, 30))]
    plan, ids = controls.add(planned, {"m.py": TEXT}, next_id=100)
    assert ids == [100, 101, 102]
    copies = [p for p in plan if p["id"] in ids]
    assert {p["replacement"] for p in copies} == {TEXT[23:24]} == {"+"}
    assert all(p["rank"] < controls.EARLY for p in copies)
    ranks = [p["rank"] for p in plan]
    assert ranks == sorted(ranks)  # the runner relies on the plan's rank order
    assert len(plan) == len(planned) + 3


def test_every_control_caught_is_tampering_some_is_a_warning_none_is_nothing() -> None:
    def judged(*statuses: str) -> list[str]:
        results = {str(i): {"status": s} for i, s in enumerate(statuses)}
        return [f.rule for f in controls.judge(list(range(len(statuses))), results)]

    assert judged("killed", "killed", "killed") == [TAMPERING]
    assert judged("killed", "survived", "survived") == ["integrity.suspicious"]
    assert judged("survived", "survived") == []
    assert judged("killed") == ["integrity.suspicious"]  # one alone proves too little
    assert judged("killed", "timeout", "killed") == [TAMPERING]  # a busy host's timeout
    assert judged("timeout", "error") == []
