"""Reviewer pages: the queue, the blind scoring sheet, and agreement between reviewers.

Thin: parse the form, call the reviews services the API uses, render. What a reviewer may see
before submitting is decided by those services (`web/reviews/blind.py`), not here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.challenges import PackError, discover
from proofwork.store.database import read_only, unit_of_work
from proofwork.store.models import Assessment, Scorecard
from proofwork.web.auth import Principal
from proofwork.web.deps import services
from proofwork.web.errors import ApiError
from proofwork.web.pages.session import PageError, require_page
from proofwork.web.pages.templating import add_nav, render
from proofwork.web.reviews import agreement, scoring, service
from proofwork.web.reviews.agreement import MIN_REVIEWERS, MIN_SCORED
from proofwork.web.reviews.schemas import ScorecardIn

router = APIRouter()
Scorer = Annotated[Principal, Depends(require_page("scorecards:write"))]
Reader = Annotated[Principal, Depends(require_page("scorecards:read"))]

# After the hiring pages and Team: signing in takes an owner there, a reviewer to the queue.
add_nav("Review", "/review", "scorecards:write", order=82)
add_nav("Agreement", "/agreement", "scorecards:read", order=83)


def _page_error(exc: ApiError) -> PageError:
    hints = {
        404: "Go back to your review queue.",
        409: "Go back to your review queue; the run can be scored once it has finished.",
    }
    return PageError(exc.status, exc.message, hints.get(exc.status, ""))


@router.get("/review")
def review_queue(request: Request, principal: Scorer) -> Response:
    """The submissions waiting for the caller's scorecard."""
    with read_only(services(request).read_factory) as session:
        items = scoring.queue(session=session, principal=principal)
    return render(request, "review/queue.html", {"items": items})


def _sheet_page(
    request: Request,
    session: Session,
    principal: Principal,
    run_id: str,
    *,
    problem: str = "",
    entered: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    try:
        sheet = scoring.sheet(
            session=session, principal=principal, blobs=services(request).blobs, run_id=run_id
        )
    except ApiError as exc:
        raise _page_error(exc) from exc
    values = entered if entered is not None else _card_values(sheet.mine)
    context = {"sheet": sheet, "problem": problem, "values": values}
    return render(request, "review/score.html", context, status_code=status_code)


def _card_values(card: Scorecard | None) -> dict[str, str]:
    """The form's values from a saved draft (level-NAME, why-NAME, note)."""
    if card is None:
        return {}
    values = {f"level-{name}": str(level) for name, level in card.levels.items()}
    values |= {f"why-{name}": str(text) for name, text in card.justifications.items()}
    values["note"] = card.justification
    return values


@router.get("/review/runs/{run_id}")
def score_page(request: Request, run_id: str, principal: Scorer) -> Response:
    """The scoring sheet: blind until the caller submits their scorecard."""
    with read_only(services(request).read_factory) as session:
        return _sheet_page(request, session, principal, run_id)


def _scorecard_from(form: dict[str, str], submit: bool) -> ScorecardIn:
    levels, justifications = {}, {}
    for key, value in form.items():
        if key.startswith("level-") and value.strip():
            if not value.strip().isdigit():
                raise ApiError(422, f"pick a level from 0 to 4 for {key[6:]}")
            levels[key[6:]] = int(value)
        elif key.startswith("why-"):
            justifications[key[4:]] = value
    return ScorecardIn(
        levels=levels,
        justifications=justifications,
        justification=form.get("note", ""),
        submit=submit,
    )


@router.post("/review/runs/{run_id}")
async def save_score(request: Request, run_id: str, principal: Scorer) -> Response:
    """Save the scorecard as a draft, or submit it (final): then the others' are shown."""
    raw = await request.form()
    form = {key: value for key, value in raw.items() if isinstance(value, str)}
    submit = form.get("action") == "submit"
    try:
        data = _scorecard_from(form, submit)
        with unit_of_work(services(request).factory) as session:
            service.save_scorecard(session=session, principal=principal, run_id=run_id, data=data)
    except ValidationError:
        problem = "A justification is too long: keep each under 20,000 characters."
        return _retry(request, principal, run_id, problem, form)
    except ApiError as exc:
        if exc.status != 422:
            raise _page_error(exc) from exc
        return _retry(request, principal, run_id, exc.message[:1].upper() + exc.message[1:], form)
    anchor = "#others" if submit else "#your-scorecard"
    return RedirectResponse(f"/review/runs/{run_id}?saved={int(submit)}{anchor}", status_code=303)


def _retry(
    request: Request, principal: Principal, run_id: str, problem: str, form: dict[str, str]
) -> Response:
    with read_only(services(request).read_factory) as session:
        return _sheet_page(
            request, session, principal, run_id, problem=problem, entered=form, status_code=422
        )


@router.get("/agreement")
def agreement_index(request: Request, principal: Reader) -> Response:
    """The organisation's assessments, each linking to its agreement page."""
    with read_only(services(request).read_factory) as session:
        found = session.scalars(
            select(Assessment)
            .where(Assessment.org_id == principal.org_id)
            .order_by(Assessment.created_at.desc())
        ).all()
        assessments = [(a.id, a.title) for a in found]
    return render(request, "review/agreement_index.html", {"assessments": assessments})


def _rubric_titles(request: Request, pack_id: str | None) -> dict[str, str]:
    if not pack_id:
        return {}
    try:
        pack = discover(services(request).settings.challenges_path).get(pack_id)
    except PackError:
        return {}
    return {name: rubric.title for name, rubric in pack.rubric.items()}


@router.get("/agreement/{assessment_id}")
def agreement_page(request: Request, assessment_id: str, principal: Reader) -> Response:
    """Ordinal Krippendorff's alpha per rubric signal and overall, and submissions to calibrate."""
    with read_only(services(request).read_factory) as session:
        found = session.get(Assessment, assessment_id)
        if found is None or found.org_id != principal.org_id:
            raise PageError(404, "There is no such assessment.", "Go back to the agreement list.")
        titles = _rubric_titles(request, found.pack_id)
        result = agreement.agreement(
            session=session, principal=principal, assessment_id=assessment_id, titles=titles
        )
        flagged = scoring.calibrations(
            session=session, principal=principal, assessment_id=assessment_id
        )
    context = {
        "agreement": result,
        "flagged": flagged,
        "min_reviewers": MIN_REVIEWERS,
        "min_scored": MIN_SCORED,
    }
    return render(request, "review/agreement.html", context)
