"""Signed-in browsers: server-side sessions, the page dependencies, and the CSRF token.

A session is a row keyed by the sha256 of the cookie's secret (a stolen copy of the store signs
nobody in); the cookie is httponly, SameSite=Lax, and Secure over https. The member's role is
read live from their membership, so a changed role or a removed member takes effect at once.

The CSRF token is derived from what binds the browser: the session's secret when signed in,
else a per-browser cookie (candidates and the sign-in form), so a page from another site can
neither read nor guess it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from proofwork.store.database import read_only
from proofwork.store.models import Membership, Organisation, User, WebSession, utcnow
from proofwork.web.auth import PERMISSIONS, Principal, hash_secret
from proofwork.web.deps import services
from proofwork.web.errors import ApiError

SESSION_COOKIE = "pw_session"
BROWSER_COOKIE = "pw_browser"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so a wrong e-mail costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class SignInRequired(Exception):
    """A page needs a signed-in user; the handler redirects to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """What a page tells a person who cannot go on: the status, what was wrong, what to do."""

    def __init__(self, status: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


@dataclass(frozen=True)
class SignedIn:
    """The signed-in member behind a request."""

    principal: Principal
    email: str
    name: str
    org_name: str
    secret: str

    @property
    def display_name(self) -> str:
        return self.name or self.email


def hash_password(password: str) -> str:
    """The argon2id hash the store keeps of a password."""
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether the password is the one hashed (constant work when there is no hash)."""
    try:
        matched = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None


PASSWORD_MIN = 10


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < PASSWORD_MIN:
        return f"choose a password of at least {PASSWORD_MIN} characters"
    if len(password) > 1000:
        return "choose a password of at most 1000 characters"
    return None


def _lookup(session: Session, secret: str) -> SignedIn | None:
    row = session.execute(
        select(WebSession, User, Membership, Organisation)
        .join(User, User.id == WebSession.user_id)
        .join(
            Membership,
            (Membership.user_id == WebSession.user_id) & (Membership.org_id == WebSession.org_id),
        )
        .join(Organisation, Organisation.id == WebSession.org_id)
        .where(WebSession.id_hash == hash_secret(secret), WebSession.expires_at > utcnow())
    ).first()
    if row is None:
        return None
    web_session, user, member, org = row
    principal = Principal(web_session.org_id, member.role, user_id=user.id)
    return SignedIn(principal, user.email, user.name, org.name, secret)


_UNSET = object()


def signed_in(request: Request) -> SignedIn | None:
    """The request's signed-in member, or None (looked up once per request)."""
    cached = getattr(request.state, "signed_in", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    found = None
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        with read_only(services(request).read_factory) as session:
            found = _lookup(session, secret)
    request.state.signed_in = found
    return found


def start_session(
    session: Session, response: Response, request: Request, *, user_id: str, org_id: str
) -> None:
    """Sign the user in: a new session row (fresh secret, so none can be planted) and its cookie."""
    secret = secrets.token_urlsafe(32)
    hours = services(request).settings.session_hours
    expires = utcnow() + dt.timedelta(hours=hours)
    session.add(
        WebSession(id_hash=hash_secret(secret), user_id=user_id, org_id=org_id, expires_at=expires)
    )
    session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(hours * 3600),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def end_session(session: Session, response: Response, request: Request) -> None:
    """Sign out: the session row is deleted and the cookie cleared."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        session.execute(delete(WebSession).where(WebSession.id_hash == hash_secret(secret)))
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )
    request.state.signed_in = None


def _derive(binding: str) -> str:
    return hashlib.sha256(f"proofwork-csrf:{binding}".encode()).hexdigest()


def csrf_token(request: Request) -> str:
    """The token forms and htmx requests of this browser must send back."""
    member = signed_in(request)
    if member is not None:
        return _derive("session:" + member.secret)
    browser = request.cookies.get(BROWSER_COOKIE) or getattr(request.state, "browser_id", "")
    return _derive("browser:" + browser) if browser else ""


def csrf_valid(request: Request, sent: str | None) -> bool:
    """Whether the token sent matches this browser's."""
    expected = csrf_token(request)
    return bool(sent and expected) and hmac.compare_digest(str(sent), expected)


def session_principal(request: Request) -> Principal | None:
    """The API's hook: a signed-in browser is a caller too; its unsafe calls carry the token."""
    member = signed_in(request)
    if member is None:
        return None
    if request.method in UNSAFE_METHODS and not csrf_valid(
        request, request.headers.get(CSRF_HEADER)
    ):
        raise ApiError(403, f"send the page's CSRF token in the {CSRF_HEADER} header")
    return member.principal


def page_principal(request: Request) -> Principal:
    """The signed-in member; anyone else is sent to the sign-in page (and back afterwards)."""
    member = signed_in(request)
    if member is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return member.principal


PagePrincipal = Annotated[Principal, Depends(page_principal)]


def require_page(permission: str) -> Callable[..., Principal]:
    """A page dependency: the signed-in member, if their role may do `permission` (else 403)."""
    allowed = PERMISSIONS[permission]

    def check(principal: PagePrincipal) -> Principal:
        if principal.role not in allowed:
            raise PageError(
                403,
                f"Your role ({principal.role}) does not allow this page.",
                "Ask an owner of your organisation if you need it.",
            )
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    return check
