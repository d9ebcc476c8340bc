"""Loading a pack's checks and running them: statuses, ordering, deadlines, a fresh provider."""

from __future__ import annotations

import json
import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from proofwork.harness.checks import (
    Check,
    CheckContext,
    CheckFailed,
    CheckLoadError,
    CheckSeverity,
    check,
    detail,
    load_checks,
    run_checks,
)
from proofwork.harness.http import Http
from proofwork.harness.provider import Provider

PACK = Path(__file__).parents[2] / "src/proofwork/challenges/packs/orders-api/checks"


class FakeService:
    """Counts lifecycle calls; the real one restarts a sandboxed process."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def restart(self) -> None:
        self.calls.append("restart")

    def kill(self) -> None:
        self.calls.append("kill")


@pytest.fixture
def ctx() -> Iterator[CheckContext]:
    # The provider doubles as "the service": any real HTTP server on loopback will do here.
    with Provider() as provider:
        http = Http(provider.url, timeout_s=2.0)
        yield CheckContext(http=http, provider=provider, service=FakeService())
        http.close()


def write_pack(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text))
    return folder


def make(id: str, body: object, order: int = 100, severity: CheckSeverity = "major") -> Check:
    title = id.replace(".", " ")
    return check(id=id, rule="R1", title=title, severity=severity, order=order)(body)  # type: ignore[arg-type]


def test_load_checks_sorts_by_order_then_id_and_shares_helpers(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "checks",
        {
            "_helpers.py": "LIMIT = 3\n",
            "late.py": """
                from proofwork.harness.checks import check
                from ._helpers import LIMIT

                @check(id="late.one", rule="R11", title="Last", severity="critical", order=10_000)
                def late(ctx): pass
            """,
            "early.py": """
                from proofwork.harness.checks import check

                @check(id="early.b", rule="R1", title="B", severity="major", order=100)
                def _(ctx): pass

                @check(id="early.a", rule="R1", title="A", severity="minor", order=100)
                def _(ctx): pass

                @check(id="early.first", rule="R2", title="First", severity="major", order=1)
                def _(ctx): pass
            """,
        },
    )

    checks = load_checks(folder)

    assert [c.id for c in checks] == ["early.first", "early.a", "early.b", "late.one"]
    assert checks[-1].rule == "R11" and checks[-1].order == 10_000
    assert [c.severity for c in checks] == ["major", "minor", "major", "critical"]


@pytest.mark.parametrize(
    ("declared", "said"),
    [("", "has no severity"), (', severity="blocker"', "has severity 'blocker'")],
)
def test_a_check_without_a_known_severity_is_refused_by_name(
    tmp_path: Path, declared: str, said: str
) -> None:
    folder = write_pack(
        tmp_path / "checks",
        {
            "vague.py": f"""
                from proofwork.harness.checks import check

                @check(id="vague.one", rule="R1", title="Vague"{declared})
                def _(ctx): pass
            """
        },
    )

    with pytest.raises(CheckLoadError) as caught:
        load_checks(folder)

    assert f"check 'vague.one' {said}" in str(caught.value)
    assert "declare one of critical, major, minor" in str(caught.value)


def test_loading_twice_registers_the_checks_again(tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "checks",
        {
            "one.py": """
        from proofwork.harness.checks import check

        @check(id="one", rule="R1", title="One", severity="minor")
        def one(ctx): pass
    """
        },
    )

    assert [c.id for c in load_checks(folder)] == [c.id for c in load_checks(folder)] == ["one"]


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    check_text = """
        from proofwork.harness.checks import check

        @check(id="same.id", rule="R1", title="Twice", severity="major")
        def _(ctx): pass
    """
    folder = write_pack(tmp_path / "checks", {"a.py": check_text, "b.py": check_text})

    with pytest.raises(CheckLoadError, match=r"'same\.id' is declared twice"):
        load_checks(folder)


def test_a_broken_check_module_is_a_load_error(tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "checks", {"broken.py": "import no_such_module_here\n"})

    with pytest.raises(CheckLoadError, match=r"broken\.py"):
        load_checks(folder)


def test_the_orders_pack_loads_and_covers_every_rule() -> None:
    checks = load_checks(PACK)

    assert len(checks) >= 30
    assert {c.rule for c in checks} >= {f"R{n}" for n in range(1, 13)}
    assert checks[-1].id.startswith("durability.")  # restarts and kills run last
    assert {c.severity for c in checks} == {"critical", "major", "minor"}


def test_a_detail_alone_fails_the_check_as_minor_after_it_ran_to_its_end(
    ctx: CheckContext,
) -> None:
    ran_on: list[str] = []

    def slips_twice(c: CheckContext) -> None:
        detail("R9 error code 'bad_json' is not listed", c.http.get("/first"))
        detail("R9 a 400 where the contract says 422")
        ran_on.append("the end")

    [result] = run_checks([make("a", slips_twice, severity="critical")], ctx)

    assert (result.status, result.severity) == ("failed", "minor")
    assert result.message == "R9 error code 'bad_json' is not listed (and 1 more details)"
    assert result.exchange is not None and result.exchange.url.endswith("/first")
    assert ran_on == ["the end"] and result.to_json()["severity"] == "minor"


def test_a_failure_after_a_detail_counts_at_the_checks_severity(ctx: CheckContext) -> None:
    def slips_then_oversells(c: CheckContext) -> None:
        detail("R6 a 422 where the contract says 409")
        raise CheckFailed("R6 stock went below zero")

    def passes(c: CheckContext) -> None:
        pass

    results = run_checks(
        [make("a", slips_then_oversells, severity="critical"), make("b", passes)], ctx
    )

    assert [(r.status, r.severity) for r in results] == [
        ("failed", "critical"),
        ("passed", "major"),
    ]
    assert results[0].message == "R6 stock went below zero"


def test_a_detail_outside_a_check_run_fails_at_once() -> None:
    with pytest.raises(CheckFailed, match="unlisted"):
        detail("unlisted code")


def test_statuses_passed_failed_and_error(ctx: CheckContext) -> None:
    def passes(c: CheckContext) -> None:
        c.http.get("/charges")

    def fails_with_exchange(c: CheckContext) -> None:
        shown = c.http.get("/first")
        c.http.get("/second")
        raise CheckFailed("R9 unknown orders are 404", exchange=shown)

    def fails_on_assert(c: CheckContext) -> None:
        c.http.get("/asserted")
        assert 1 + 1 == 3, "R2 arithmetic"

    def crashes(c: CheckContext) -> None:
        c.http.get("/crashed")
        {}["missing"]

    results = run_checks(
        [
            make("a", passes),
            make("b", fails_with_exchange),
            make("c", fails_on_assert),
            make("d", crashes),
        ],
        ctx,
    )

    assert [(r.id, r.status, r.passed) for r in results] == [
        ("a", "passed", True),
        ("b", "failed", False),
        ("c", "failed", False),
        ("d", "error", False),
    ]
    assert results[0].exchange is None and results[0].message == ""
    assert results[1].message == "R9 unknown orders are 404"
    assert results[1].exchange is not None and results[1].exchange.url.endswith("/first")
    assert results[2].message.startswith("R2 arithmetic")
    assert results[2].exchange is not None and results[2].exchange.url.endswith("/asserted")
    assert results[3].message == "KeyError: 'missing'"
    assert results[3].exchange is not None and results[3].exchange.url.endswith("/crashed")


def test_a_failure_never_blames_an_earlier_checks_exchange(ctx: CheckContext) -> None:
    def requests(c: CheckContext) -> None:
        c.http.get("/earlier")

    def fails_without_requests(c: CheckContext) -> None:
        raise CheckFailed("no request made")

    results = run_checks([make("a", requests), make("b", fails_without_requests)], ctx)

    assert results[1].exchange is None


def test_a_check_past_its_deadline_fails_and_the_run_goes_on(ctx: CheckContext) -> None:
    def stalls(c: CheckContext) -> None:
        time.sleep(2)

    started = time.monotonic()
    results = run_checks(
        [make("slow", stalls), make("next", lambda c: None)], ctx, deadline_s_per_check=0.2
    )

    assert time.monotonic() - started < 1.5
    assert results[0].status == "failed" and "within 0.2 s" in results[0].message
    assert results[1].status == "passed"


def test_the_provider_is_reset_before_each_check(ctx: CheckContext) -> None:
    def misconfigures(c: CheckContext) -> None:
        c.provider.behave("decline")
        c.provider.latency_s = 5

    def expects_ok(c: CheckContext) -> None:
        body = {"amount": "1.00", "currency": "EUR", "reference": "o1"}
        ex = c.http.post("/charges", json=body, headers={"Idempotency-Key": "k"})
        if ex.status != 201:
            raise CheckFailed(f"provider leaked its mode: {ex.status}", ex)

    results = run_checks([make("a", misconfigures), make("b", expects_ok)], ctx)

    assert [r.status for r in results] == ["passed", "passed"]


def test_only_runs_the_named_checks(ctx: CheckContext) -> None:
    ran: list[str] = []
    checks = [make(name, lambda c, n=name: ran.append(n)) for name in ("a", "b", "c")]

    results = run_checks(checks, ctx, only={"b"})

    assert [r.id for r in results] == ["b"] and ran == ["b"]


def test_results_are_json_ready(ctx: CheckContext) -> None:
    def fails(c: CheckContext) -> None:
        raise CheckFailed("R7 not paid", c.http.get("/x"))

    [result] = run_checks([make("a", fails)], ctx)
    view = result.to_json()

    assert json.loads(json.dumps(view)) == view
    assert view["status"] == "failed" and view["exchange"]["status"] == 404
    assert view["title"] == "a" and view["rule"] == "R1" and view["passed"] is False


def test_unique_ids_never_collide_and_fit_a_sku(ctx: CheckContext) -> None:
    other = CheckContext(http=ctx.http, provider=ctx.provider, service=ctx.service)
    made = [ctx.unique("sku") for _ in range(100)] + [other.unique("sku") for _ in range(100)]

    assert len(set(made)) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,64}", m) for m in made)


def test_a_check_needs_an_id_a_rule_and_a_title() -> None:
    with pytest.raises(ValueError, match="needs an id"):
        check(id="", rule="R1", title="x")
