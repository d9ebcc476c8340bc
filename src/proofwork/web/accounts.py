"""Accounts: signing in (rate-limited), the first owner, and teammates invited by e-mail."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from proofwork.config import Settings
from proofwork.store.models import (
    Membership,
    Organisation,
    Role,
    SignInFailure,
    TeamInvite,
    User,
    utcnow,
)
from proofwork.web import admin, audit
from proofwork.web.auth import Principal, hash_secret, new_secret
from proofwork.web.pages.session import hash_password, password_matches, password_problem

FAILURE_WINDOW = dt.timedelta(minutes=15)
TEAM_INVITE_PREFIX = "pwt_"


class AccountError(Exception):
    """A sign-in or account step cannot go on; the message says why and what to do."""

    def __init__(self, message: str, *, status: int = 400, retry_after: int = 0) -> None:
        super().__init__(message)
        self.message, self.status, self.retry_after = message, status, retry_after


@dataclass(frozen=True)
class Member:
    """Who signed in, and into which organisation."""

    user_id: str
    org_id: str


def normalise_email(email: str) -> str:
    """E-mails compare without surrounding spaces and case."""
    return email.strip().lower()


def needs_first_run(session: Session) -> bool:
    """Whether no organisation exists yet (the first-run page creates one)."""
    return session.scalar(select(Organisation.id).limit(1)) is None


def create_first_owner(
    *, session: Session, org_name: str, email: str, name: str, password: str
) -> Member:
    """The first organisation and its owner; refused once any organisation exists."""
    if not needs_first_run(session):
        raise AccountError("this service is set up already: sign in instead", status=409)
    email = normalise_email(email)
    _check_new(org_name=org_name, email=email, password=password)
    org = admin.create_org(session=session, name=org_name.strip())
    user = admin.create_user(session=session, org=org, email=email, role=Role.OWNER, name=name)
    user.password_hash = hash_password(password)
    audit.record(session, Principal(org.id, Role.OWNER, user_id=user.id), "create", "org", org.id)
    return Member(user.id, org.id)


def _check_new(*, org_name: str | None = None, email: str, password: str) -> None:
    if org_name is not None and not org_name.strip():
        raise AccountError("give the organisation a name")
    if "@" not in email or len(email) > 320:
        raise AccountError("give a valid e-mail address")
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)


def retry_after(session: Session, settings: Settings, *, email: str, address: str) -> int:
    """Seconds until this e-mail and address may try again (0: now)."""
    since = utcnow() - FAILURE_WINDOW
    waits = []
    for column, value, limit in (
        (SignInFailure.email, email, settings.sign_in_failures),
        (SignInFailure.address, address, settings.sign_in_address_failures),
    ):
        times = session.scalars(
            select(SignInFailure.created_at)
            .where(column == value, SignInFailure.created_at > since)
            .order_by(SignInFailure.created_at.desc())
            .limit(limit)
        ).all()
        if len(times) >= limit:
            waits.append(times[-1] + FAILURE_WINDOW - utcnow())
    return max((int(w.total_seconds()) + 1 for w in waits), default=0)


def sign_in(
    *, session: Session, settings: Settings, email: str, password: str, address: str
) -> Member | None:
    """The member these credentials sign in; None (the failure recorded) when they are wrong;
    AccountError(429) while this e-mail or address must wait."""
    email = normalise_email(email)
    wait = retry_after(session, settings, email=email, address=address)
    if wait:
        raise AccountError("too many failed sign-ins", status=429, retry_after=wait)
    user = session.scalar(select(User).where(User.email == email))
    member = None
    if password_matches(user.password_hash if user else None, password) and user is not None:
        member = session.scalar(
            select(Membership).where(Membership.user_id == user.id).order_by(Membership.created_at)
        )
    if user is None or member is None:
        session.add(SignInFailure(email=email, address=address))
        stale = SignInFailure.created_at < utcnow() - FAILURE_WINDOW
        session.execute(delete(SignInFailure).where(stale))
        return None
    session.execute(delete(SignInFailure).where(SignInFailure.email == email))
    return Member(user.id, member.org_id)


def set_password(*, session: Session, user_id: str, password: str) -> None:
    """Set a user's password (argon2id)."""
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user = session.get(User, user_id)
    if user is None:
        raise AccountError("no such user", status=404)
    user.password_hash = hash_password(password)


def members(session: Session, org_id: str) -> list[tuple[User, Membership]]:
    """The organisation's members, by e-mail."""
    rows = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id)
        .order_by(User.email)
    )
    return [(user, member) for user, member in rows]


def open_invites(session: Session, org_id: str) -> list[TeamInvite]:
    """Teammates invited and not yet joined, newest first."""
    return list(
        session.scalars(
            select(TeamInvite)
            .where(
                TeamInvite.org_id == org_id,
                TeamInvite.accepted_at.is_(None),
                TeamInvite.expires_at > utcnow(),
            )
            .order_by(TeamInvite.created_at.desc())
        )
    )


def invite_teammate(
    *, session: Session, principal: Principal, settings: Settings, email: str, role: Role
) -> tuple[TeamInvite, str]:
    """A teammate's invitation and its secret (for the link in the mail; kept hashed)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise AccountError("give a valid e-mail address")
    already = session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == principal.org_id, User.email == email)
    )
    if already:
        raise AccountError(f"{email} is a member already", status=409)
    secret = new_secret(TEAM_INVITE_PREFIX)
    invite = TeamInvite(
        org_id=principal.org_id,
        email=email,
        role=role,
        token_hash=hash_secret(secret),
        invited_by=principal.user_id,
        expires_at=utcnow() + dt.timedelta(hours=settings.team_invite_hours),
    )
    session.add(invite)
    session.flush()
    audit.record(session, principal, "invite", "teammate", invite.id, email=email, role=str(role))
    return invite, secret


def find_invite(session: Session, secret: str) -> TeamInvite:
    """The open invitation behind a link; AccountError(410) when used, expired or unknown."""
    invite = session.scalar(select(TeamInvite).where(TeamInvite.token_hash == hash_secret(secret)))
    if invite is None or invite.accepted_at is not None or invite.expires_at <= utcnow():
        raise AccountError(
            "this invitation link has been used already, has expired or was never valid",
            status=410,
        )
    return invite


def accept_invite(*, session: Session, secret: str, name: str, password: str) -> Member:
    """Join the organisation: the password set, the membership made, the link used up."""
    invite = find_invite(session, secret)
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    org = session.get(Organisation, invite.org_id)
    if org is None:
        raise AccountError("the organisation no longer exists", status=410)
    existing = session.scalar(select(User).where(User.email == invite.email))
    # A member of another organisation joins with the password they have.
    has_password = existing is not None and existing.password_hash is not None
    if has_password and not password_matches(
        existing.password_hash if existing else None, password
    ):
        raise AccountError(f"{invite.email} has an account already: give its password to join")
    user = admin.create_user(
        session=session, org=org, email=invite.email, role=invite.role, name=name.strip()
    )
    if user.password_hash is None:
        user.password_hash = hash_password(password)
    invite.accepted_at = utcnow()
    principal = Principal(org.id, invite.role, user_id=user.id)
    audit.record(session, principal, "join", "teammate", invite.id, email=invite.email)
    return Member(user.id, org.id)
