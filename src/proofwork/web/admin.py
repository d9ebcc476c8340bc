"""Organisations, users and API tokens: what `proofwork admin` and the tests set up."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.store.models import ApiToken, Membership, Organisation, Role, User
from proofwork.web.auth import TOKEN_PREFIX, hash_secret, new_secret


class AdminError(Exception):
    """An admin command cannot be carried out; says why."""


def create_org(*, session: Session, name: str) -> Organisation:
    """A new organisation with a unique name."""
    if session.scalar(select(Organisation).where(Organisation.name == name)) is not None:
        raise AdminError(f"an organisation named {name!r} exists already")
    org = Organisation(name=name)
    session.add(org)
    session.flush()
    return org


def find_org(*, session: Session, name_or_id: str) -> Organisation:
    """The organisation with this name or id."""
    org = session.scalar(
        select(Organisation).where(
            (Organisation.name == name_or_id) | (Organisation.id == name_or_id)
        )
    )
    if org is None:
        raise AdminError(f"no organisation named {name_or_id!r}: create it with create-org")
    return org


def create_user(
    *, session: Session, org: Organisation, email: str, role: Role, name: str = ""
) -> User:
    """A user (new, or existing by e-mail) made a member of the organisation with a role."""
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name)
        session.add(user)
        session.flush()
    member = session.scalar(
        select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
    )
    if member is None:
        session.add(Membership(org_id=org.id, user_id=user.id, role=role))
    else:
        member.role = role
    session.flush()
    return user


def create_token(
    *, session: Session, org: Organisation, role: Role, user: User | None = None, name: str = ""
) -> tuple[ApiToken, str]:
    """A new API token for the organisation and its secret (shown once, stored hashed)."""
    if user is not None:
        member = session.scalar(
            select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
        )
        if member is None:
            raise AdminError(f"{user.email} is not a member of {org.name}")
        role = member.role
    secret = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        org_id=org.id,
        user_id=user.id if user else None,
        role=role,
        name=name,
        token_hash=hash_secret(secret),
    )
    session.add(token)
    session.flush()
    return token, secret


def find_user(*, session: Session, email: str) -> User:
    """The user with this e-mail."""
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise AdminError(f"no user {email!r}: create them with create-user")
    return user
