"""The candidate portal's service: which links open, what a candidate may read."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session
from web_support import World

from proofwork.challenges import discover
from proofwork.store.models import Invitation, InvitationState, RunEvent
from proofwork.web.auth import INVITATION_PREFIX, new_secret
from proofwork.web.errors import ApiError
from proofwork.web.markdown import render_markdown
from proofwork.web.portal.feedback import candidate_feedback
from proofwork.web.portal.service import (
    open_portal,
    planned_probes,
    probes_for,
    progress,
    signals_for,
)


def test_an_invitation_link_opens_its_portal(session: Session, world: World) -> None:
    portal = open_portal(session, world.tokens["candidate"] or "")
    assert portal.invitation.id == world.ids["invitation_id"]
    assert portal.org_name == "Acme"
    assert portal.can_submit


def test_an_unknown_link_is_a_404_that_says_what_to_do(session: Session) -> None:
    with pytest.raises(ApiError) as raised:
        open_portal(session, new_secret(INVITATION_PREFIX))
    assert raised.value.status == 404
    assert "whole link" in raised.value.message


@pytest.mark.parametrize("change", ["revoked", "expired"])
def test_a_closed_invitation_is_a_410_naming_whom_to_ask(
    session: Session, world: World, change: str
) -> None:
    invitation = session.get_one(Invitation, world.ids["invitation_id"])
    if change == "revoked":
        invitation.state = InvitationState.REVOKED
    else:
        invitation.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    session.flush()
    with pytest.raises(ApiError) as raised:
        open_portal(session, world.tokens["candidate"] or "")
    assert raised.value.status == 410
    assert "Acme" in raised.value.message


def test_after_submitting_the_portal_stays_open_past_the_deadline(
    session: Session, world: World
) -> None:
    invitation = session.get_one(Invitation, world.ids["invitation_id"])
    invitation.state = InvitationState.SUBMITTED
    invitation.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    session.flush()
    portal = open_portal(session, world.tokens["candidate"] or "")
    assert portal.submitted and not portal.can_submit


def test_a_brief_s_raw_html_is_escaped() -> None:
    html = render_markdown("# Brief\n\n<script>alert(1)</script> [x](javascript:alert(1))\n")
    assert "<h1>Brief</h1>" in html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html


def test_what_is_graded_is_said_for_the_pack_s_kind() -> None:
    ledger = discover("").get("sales-ledger")
    probes = [g.title for g in probes_for(ledger)]
    assert "More data than memory" in probes
    assert "Under load" not in probes  # a service's measure, not a job's
    signals = {g.title: g.how for g in signals_for(ledger)}
    assert "Production readiness" in signals
    assert "do not see your name" in signals["Trade-off reasoning"]


def test_feedback_keeps_signals_and_own_findings_and_drops_the_grader_s_secrets() -> None:
    report = {
        "signals": [
            {
                "title": "Production readiness",
                "level": 2,
                "label": "Reads real exports",
                "status": "scored",
                "evidence": ["acceptance.r1.failed = 0 (needs == 0)"],
                "next_level": ["acceptance.r5.failed = 2 (needs == 0)"],
            }
        ],
        "findings": [
            {
                "rule": "acceptance.duplicates.within_file",
                "severity": "high",
                "message": "R5 duplicates counted twice: see /var/lib/proofwork/runs/x/checks/a.py",
                "path": "checks/test_duplicates.py",
                "line": 12,
                "snippet": "assert ledger(HIDDEN_ROWS) == EXPECTED",
            },
            {
                "rule": "S307",
                "severity": "critical",
                "message": "eval() on row data",
                "path": "ledger/read.py",
                "line": 4,
                "snippet": "value = eval(cell)",
                "diff": "-reference\n+mine",
            },
        ],
    }
    feedback = candidate_feedback(report)
    assert feedback.signals[0].evidence == ["acceptance.r1.failed = 0 (needs == 0)"]
    first, second = feedback.findings
    assert first.rule == "S307" and first.snippet == "value = eval(cell)"
    assert second.path is None and second.snippet is None and second.line is None
    everything = repr(feedback)
    for secret in ("/var/lib/proofwork", "HIDDEN_ROWS", "checks/", "-reference"):
        assert secret not in everything


def test_a_batch_jobs_status_leaves_out_the_probes_that_pass_it_over() -> None:
    # The engine starts and ends every probe, also those with nothing to measure for the kind.
    planned = planned_probes(discover("").get("sales-ledger"))
    events = [
        RunEvent(kind=kind, name=name, attempt=1, message="")
        for name in ("static", "load", "faults", "scale", "install")
        for kind in ("probe-start", "probe-end")
    ]
    steps = {s.name: s.state for s in progress(planned, events)}
    assert "load" not in steps and "faults" not in steps
    assert steps["static"] == steps["scale"] == steps["install"] == "done"


def test_feedback_does_not_say_a_reviewed_signal_still_awaits_review() -> None:
    signal = {"title": "Trade-off reasoning", "status": "awaiting review", "material": ["x"]}
    found = candidate_feedback({"signals": [signal]}).signals[0]
    assert "awaiting" not in found.status and "reviewers" in found.status
