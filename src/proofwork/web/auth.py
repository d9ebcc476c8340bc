"""Who is calling, and what they may do: permissions are data, each route names the one it needs.

Callers prove who they are with a bearer token: an API token (`pw_…`, one organisation, one
role) or an invitation's token (`pwi_…`, a candidate uploading for that invitation only). The
browser pages will add signed-in sessions through `app.state.session_principal`, a hook that
turns a request into a Principal (or None); the routes do not change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from proofwork.store.database import columns, read_only, unit_of_work
from proofwork.store.models import ApiToken, Invitation, InvitationState, Role, utcnow
from proofwork.web.deps import SessionDep, reading, services
from proofwork.web.errors import ApiError

CANDIDATE = "candidate"
STAFF = frozenset({Role.OWNER, Role.RECRUITER, Role.REVIEWER})
HIRING = frozenset({Role.OWNER, Role.RECRUITER})

# Who may do what. Reviewers read runs and reports to score them, but candidates reach them
# only through an alias (blind review); a candidate's token may only upload.
PERMISSIONS: dict[str, frozenset[str]] = {
    "assessments:read": STAFF,
    "assessments:write": HIRING,
    "candidates:read": STAFF,
    "candidates:write": HIRING,
    "candidates:erase": frozenset({Role.OWNER}),
    "invitations:read": HIRING,
    "invitations:write": HIRING,
    "submissions:create": HIRING | {CANDIDATE},
    "submissions:read": STAFF,
    "runs:read": STAFF,
    "runs:write": HIRING,
    "scorecards:read": STAFF,
    "scorecards:write": frozenset({Role.OWNER, Role.REVIEWER}),
    "decisions:read": HIRING,
    "decisions:write": HIRING,
    "webhooks:manage": frozenset({Role.OWNER}),
    # Who copied from whom is for the hiring team, not for blind reviewers.
    "similarity:read": HIRING,
    # The pages' own: teammates and the outbox are the owner's, the audit log the hiring team's.
    "team:manage": frozenset({Role.OWNER}),
    "outbox:read": frozenset({Role.OWNER}),
    "audit:read": HIRING,
}

TOKEN_PREFIX, INVITATION_PREFIX = "pw_", "pwi_"
LAST_USED_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, always inside one organisation."""

    org_id: str
    role: str
    user_id: str | None = None
    token_id: str | None = None
    invitation_id: str | None = None

    @property
    def blind(self) -> bool:
        """Whether candidates' names and e-mails are hidden from this caller."""
        return self.role not in HIRING

    @property
    def actor(self) -> str:
        """How audit events name the caller."""
        return self.user_id or self.token_id or self.invitation_id or "unknown"


def hash_secret(secret: str) -> str:
    """What the store keeps of a token: its sha256."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    """A fresh unguessable token with its kind's prefix."""
    return prefix + secrets.token_urlsafe(32)


# Built once: a statement built per request costs more than running it.
_TOKEN = select(
    ApiToken.id, ApiToken.org_id, ApiToken.role, ApiToken.user_id, ApiToken.last_used_at
).where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))


def _from_api_token(session: Session, secret: str) -> tuple[Principal | None, bool]:
    """The token's principal, and whether its last use is worth writing down again."""
    token = columns(session, _TOKEN, {"token_hash": hash_secret(secret)}).first()
    if token is None:
        return None, False
    stale = token.last_used_at is None or utcnow() - token.last_used_at > LAST_USED_EVERY
    return Principal(token.org_id, token.role, user_id=token.user_id, token_id=token.id), stale


def _touch(factory: sessionmaker[Session], token_id: str) -> None:
    # Its own short write after the read, so a read-only request stays read-only.
    with unit_of_work(factory) as session:
        session.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
        )


def _from_invitation(session: Session, secret: str) -> Principal | None:
    invitation = session.scalar(
        select(Invitation).where(
            Invitation.token_hash == hash_secret(secret),
            Invitation.state == InvitationState.PENDING,
            Invitation.expires_at > utcnow(),
        )
    )
    if invitation is None:
        return None
    return Principal(invitation.org_id, CANDIDATE, invitation_id=invitation.id)


_bearer = HTTPBearer(auto_error=False, description="An API token (pw_…) or invitation (pwi_…)")


def _from_secret(session: Session, secret: str) -> tuple[Principal | None, bool]:
    if secret.startswith(INVITATION_PREFIX):
        return _from_invitation(session, secret), False
    if secret.startswith(TOKEN_PREFIX):
        return _from_api_token(session, secret)
    return None, False


async def authenticate(
    request: Request, credentials: HTTPAuthorizationCredentials | None, session: Session
) -> Principal:
    """The caller, from a bearer token or the pages' session hook; 401 otherwise."""
    principal = None
    factory = services(request).factory
    if credentials is not None:
        # One indexed read that waits for no lock (read-only, on SQLite too), on the event
        # loop: a thread switch would cost more than the read. A reading request reads it
        # through the route's own session (one connection from the pool); any other has its
        # own short session, so the route's (and on SQLite its write lock) starts only when
        # the route uses it, not while an upload streams in.
        if reading(request):
            principal, stale = _from_secret(session, credentials.credentials)
        else:
            with read_only(factory) as own:
                principal, stale = _from_secret(own, credentials.credentials)
        if stale and principal is not None and principal.token_id is not None:
            session.rollback()  # the read ends before the write (the route reads afresh)
            await run_in_threadpool(_touch, factory, principal.token_id)  # a write may wait
    else:
        hook: Callable[[Request], Principal | None] | None = getattr(
            request.app.state, "session_principal", None
        )
        principal = await run_in_threadpool(hook, request) if hook else None
    if principal is None:
        raise ApiError(401, "send a valid token: Authorization: Bearer pw_… (or an invitation's)")
    return principal


def require(permission: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: the caller, if their role may do `permission`; 403 otherwise."""
    allowed = PERMISSIONS[permission]

    # A coroutine: a plain function would cost a thread switch. It authenticates itself
    # rather than depending on `authenticate`: each level of dependencies FastAPI resolves
    # costs every request as much as the role check does.
    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        session: SessionDep,
    ) -> Principal:
        principal = await authenticate(request, credentials, session)
        if principal.role not in allowed:
            raise ApiError(403, f"a {principal.role} may not do {permission}")
        return principal

    check.permission = permission  # type: ignore[attr-defined]  # read by the route walk test
    return check
