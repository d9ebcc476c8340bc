"""Account pages: sign-in and out, the first-run owner, teammates by e-mail, outbox, audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from proofwork.store.database import read_only, unit_of_work
from proofwork.store.models import Role
from proofwork.web import accounts, audit, mail
from proofwork.web.accounts import AccountError
from proofwork.web.auth import Principal
from proofwork.web.deps import services
from proofwork.web.pages.session import (
    PASSWORD_MIN,
    PageError,
    end_session,
    require_page,
    signed_in,
    start_session,
)
from proofwork.web.pages.templating import add_nav, nav_for, render, render_error

router = APIRouter()
FormText = Annotated[str, Form()]
TeamManager = Annotated[Principal, Depends(require_page("team:manage"))]
OutboxReader = Annotated[Principal, Depends(require_page("outbox:read"))]
AuditReader = Annotated[Principal, Depends(require_page("audit:read"))]

add_nav("Team", "/team", "team:manage", order=80)
add_nav("Outbox", "/outbox", "outbox:read", order=85)
add_nav("Audit log", "/audit", "audit:read", order=90)
AUDIT_PAGE = 50


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def client_address(request: Request) -> str:
    """The caller's address (what sign-in failures are counted by besides the e-mail)."""
    return request.client.host if request.client else "unknown"


@router.get("/")
def home(request: Request) -> Response:
    """Signed in: the first page the member's role may see; else sign-in (or first run)."""
    member = signed_in(request)
    if member is not None:
        links = nav_for(member.principal)
        if links:
            return _see_other(links[0].href)
        return render(request, "account/home.html")
    with read_only(services(request).read_factory) as session:
        first = accounts.needs_first_run(session)
    return _see_other("/first-run" if first else "/sign-in")


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    if signed_in(request) is not None:
        return _see_other(safe_next(next))
    return render(request, "account/sign_in.html", {"next": safe_next(next)})


@router.post("/sign-in")
def sign_in(
    request: Request,
    email: FormText = "",
    password: FormText = "",
    next: FormText = "/",
) -> Response:
    """Check the credentials (rate-limited), start a session, go where the member was going."""
    found = services(request)
    target = safe_next(next)
    response = _see_other(target)
    try:
        with unit_of_work(found.factory) as session:
            member = accounts.sign_in(
                session=session, settings=found.settings, email=email, password=password,
                address=client_address(request),
            )  # fmt: skip
            if member is not None:
                start_session(
                    session, response, request, user_id=member.user_id, org_id=member.org_id
                )
    except AccountError as exc:
        return _rate_limited(request, exc.retry_after)
    if member is None:
        context = {
            "next": target,
            "email": email,
            "problem": "the e-mail or the password is not right",
        }
        return render(request, "account/sign_in.html", context, status_code=400)
    return response


def _rate_limited(request: Request, wait_s: int) -> Response:
    minutes = max(1, -(-wait_s // 60))
    return render_error(
        request,
        429,
        "There were too many failed sign-ins for this e-mail or from this address.",
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}. If you forgot your "
        "password, ask an owner of your organisation to invite you again.",
        headers={"Retry-After": str(wait_s)},
    )


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    """End the session and go back to the sign-in page."""
    response = _see_other("/sign-in")
    with unit_of_work(services(request).factory) as session:
        end_session(session, response, request)
    return response


@router.get("/first-run")
def first_run_page(request: Request) -> Response:
    """Create the first organisation and its owner (only while none exists)."""
    with read_only(services(request).read_factory) as session:
        if not accounts.needs_first_run(session):
            return _see_other("/sign-in")
    return render(request, "account/first_run.html", {"password_min": PASSWORD_MIN})


@router.post("/first-run")
def first_run(
    request: Request,
    org_name: FormText = "",
    name: FormText = "",
    email: FormText = "",
    password: FormText = "",
) -> Response:
    """The first owner is created and signed in."""
    response = _see_other("/")
    try:
        with unit_of_work(services(request).factory) as session:
            member = accounts.create_first_owner(
                session=session, org_name=org_name, email=email, name=name, password=password
            )
            start_session(session, response, request, user_id=member.user_id, org_id=member.org_id)
    except AccountError as exc:
        if exc.status == 409:
            return _see_other("/sign-in")
        context = {
            "problem": exc.message, "org_name": org_name, "name": name, "email": email,
            "password_min": PASSWORD_MIN,
        }  # fmt: skip
        return render(request, "account/first_run.html", context, status_code=400)
    return response


def public_url(request: Request) -> str:
    """The address mails link to: PROOFWORK_PUBLIC_URL, else the one this request came to."""
    configured = services(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


@router.get("/team")
def team_page(request: Request, principal: TeamManager) -> Response:
    """The organisation's members and open invitations; invite a teammate."""
    with read_only(services(request).read_factory) as session:
        context = {
            "members": accounts.members(session, principal.org_id),
            "invites": accounts.open_invites(session, principal.org_id),
            "roles": list(Role),
        }
    return render(request, "account/team.html", context)


@router.post("/team/invite")
def invite_teammate(
    request: Request, principal: TeamManager, email: FormText = "", role: FormText = ""
) -> Response:
    """Mail a teammate a single-use link to set a password and join with a role."""
    found, inviter = services(request), signed_in(request)
    try:
        chosen = Role(role)
    except ValueError as exc:
        raise PageError(
            400, f"There is no role {role!r}.", "Pick owner, recruiter or reviewer."
        ) from exc
    try:
        with unit_of_work(found.factory) as session:
            invite, secret = accounts.invite_teammate(
                session=session, principal=principal, settings=found.settings, email=email,
                role=chosen,
            )  # fmt: skip
    except AccountError as exc:
        raise PageError(exc.status, exc.message[:1].upper() + exc.message[1:] + ".") from exc
    link = f"{public_url(request)}/join/{secret}"
    who, org_name = (inviter.display_name, inviter.org_name) if inviter else ("An owner", "")
    text = (
        f"{who} invites you to join {org_name} on Proofwork as {chosen}.\n\n"
        f"Set your password and join here (the link works once, until "
        f"{invite.expires_at:%Y-%m-%d %H:%M} UTC):\n{link}\n"
    )
    mail.send_mail(
        found, org_id=principal.org_id, to=invite.email, subject=f"Join {org_name} on Proofwork",
        text=text, link=link,
    )  # fmt: skip
    return _see_other("/team?invited=" + invite.email)


@router.get("/join/{secret}")
def join_page(request: Request, secret: str) -> Response:
    """The invited teammate sets a password."""
    with read_only(services(request).read_factory) as session:
        try:
            invite = accounts.find_invite(session, secret)
        except AccountError as exc:
            return _gone(request, exc)
        context = {"invite_email": invite.email, "role": invite.role, "secret": secret}
    return render(request, "account/join.html", {**context, "password_min": PASSWORD_MIN})


def _gone(request: Request, exc: AccountError) -> Response:
    return render_error(
        request,
        exc.status,
        exc.message[:1].upper() + exc.message[1:] + ".",
        "Ask the owner who invited you to send a new invitation.",
    )


@router.post("/join/{secret}")
def join(request: Request, secret: str, name: FormText = "", password: FormText = "") -> Response:
    """Accept the invitation: the membership is made and the teammate signed in."""
    response = _see_other("/")
    try:
        with unit_of_work(services(request).factory) as session:
            member = accounts.accept_invite(
                session=session, secret=secret, name=name, password=password
            )
            start_session(session, response, request, user_id=member.user_id, org_id=member.org_id)
    except AccountError as exc:
        if exc.status == 410:
            return _gone(request, exc)
        with read_only(services(request).read_factory) as session:
            invite = accounts.find_invite(session, secret)
        context = {
            "invite_email": invite.email, "role": invite.role, "secret": secret,
            "problem": exc.message, "name": name, "password_min": PASSWORD_MIN,
        }  # fmt: skip
        return render(request, "account/join.html", context, status_code=400)
    return response


@router.get("/outbox")
def outbox_page(request: Request, principal: OutboxReader) -> Response:
    """The mails the service sent or keeps for the owner to pass on, newest first."""
    found = services(request)
    with read_only(found.read_factory) as session:
        mails = mail.recent(session, principal.org_id)
    context = {"mails": mails, "smtp": bool(found.settings.smtp_host)}
    return render(request, "account/outbox.html", context)


@router.get("/audit")
def audit_page(
    request: Request,
    principal: AuditReader,
    type: str = "",
    before: int | None = None,
) -> Response:
    """Who did what when, newest first, a page at a time, filtered by the kind of object."""
    with read_only(services(request).read_factory) as session:
        events, next_before = audit.entries(
            session, principal.org_id, object_type=type, before=before, limit=AUDIT_PAGE
        )
        kinds = audit.object_types(session, principal.org_id)
    context = {
        "events": events, "kinds": kinds, "chosen": type, "next_before": next_before,
        "paged": before is not None,
    }  # fmt: skip
    return render(request, "account/audit.html", context)
