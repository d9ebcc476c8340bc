"""The service's tables: every object belongs to an organisation; secrets are stored hashed.

Child rows cascade in the database (ON DELETE CASCADE), so deleting a candidate removes their
invitations, submissions, runs, events, scorecards and decisions in one statement on SQLite and
PostgreSQL alike; blobs the deleted rows referred to are removed by `store.erasure`.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A random object id (32 hex digits): ids are not guessable and reveal no count."""
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite hands back naive ones otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC time")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None or (type(value) is dt.datetime and value.tzinfo is dt.UTC):
            return value  # PostgreSQL's, as a rule: no conversion to pay for
        if not isinstance(value, dt.datetime):
            raise TypeError(f"the store returned {value!r} for a datetime column")
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Role(enum.StrEnum):
    OWNER = "owner"
    RECRUITER = "recruiter"
    REVIEWER = "reviewer"


class InvitationState(enum.StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    REVOKED = "revoked"


class RunState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (RunState.DONE, RunState.FAILED, RunState.CANCELLED)


class Outcome(enum.StrEnum):
    ADVANCE = "advance"
    REJECT = "reject"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


E = TypeVar("E", bound=enum.StrEnum)


class StrEnumType(TypeDecorator[E]):
    """A StrEnum stored as plain text, so adding a member needs no schema change."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum_type: type[E]) -> None:
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum_type(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


def _id() -> Mapped[str]:
    return mapped_column(String(32), primary_key=True, default=new_id)


def _org() -> Mapped[str]:
    return mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)


def _created() -> Mapped[dt.datetime]:
    return mapped_column(default=utcnow)


class Organisation(Base):
    __tablename__ = "organisation"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = _created()


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[str] = _id()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # argon2id hash; None: the user cannot sign in to the pages (API tokens only).
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    created_at: Mapped[dt.datetime] = _created()


class ApiToken(Base):
    """A bearer token for integrations: only its sha256 is kept; scoped to one organisation."""

    __tablename__ = "api_token"
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    user_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = _created()
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class Assessment(Base):
    """An organisation's use of one pack (or a generic grade) for one hiring round."""

    __tablename__ = "assessment"
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    title: Mapped[str] = mapped_column(String(200))
    pack_id: Mapped[str | None] = mapped_column(String(100))
    pack_version: Mapped[str | None] = mapped_column(String(50))
    time_box_minutes: Mapped[int] = mapped_column(Integer)
    invitation_expiry_hours: Mapped[int] = mapped_column(Integer, default=168)
    # Whether candidates see their signals and findings once a decision is recorded.
    feedback_visible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = _created()


class Candidate(Base):
    __tablename__ = "candidate"
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    alias: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = _created()


class Invitation(Base):
    """A candidate's expiring access to an assessment; the link's token is stored hashed."""

    __tablename__ = "invitation"
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    assessment_id: Mapped[str] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[InvitationState] = mapped_column(
        StrEnumType(InvitationState), default=InvitationState.PENDING
    )
    expires_at: Mapped[dt.datetime]
    # When the candidate first opened the welcome page ("started" on the dashboard).
    opened_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = _created()


class Submission(Base):
    """An immutable snapshot of a repository: its archive is the blob named by sha256."""

    __tablename__ = "submission"
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    candidate_id: Mapped[str | None] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), index=True
    )
    assessment_id: Mapped[str | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    invitation_id: Mapped[str | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL")
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255), default="")
    origin: Mapped[str] = mapped_column(String(32))  # "upload", "invitation", "cli"
    created_at: Mapped[dt.datetime] = _created()


class Run(Base):
    """One evaluation of one submission: queued → running → done | failed | cancelled."""

    __tablename__ = "run"
    __table_args__ = (
        Index("ix_run_claim", "state", "queued_at"),
        Index("ix_run_org_page", "org_id", "created_at", "id"),
    )
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    challenge: Mapped[str | None] = mapped_column(String(100))
    probes: Mapped[list[str] | None] = mapped_column(JSON)
    cores: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[RunState] = mapped_column(StrEnumType(RunState), default=RunState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[dt.datetime | None]
    # When a message was last sent for it (scale-out: a lost message is sent again).
    dispatched_at: Mapped[dt.datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    phase: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    report_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    html_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    summary: Mapped[dict[str, Any] | None]
    # Each signal's level ({name: level or null}), apart from the summary so that pages sort
    # and filter by a level in SQL without reading every summary.
    levels: Mapped[dict[str, Any] | None]
    created_at: Mapped[dt.datetime] = _created()
    queued_at: Mapped[dt.datetime] = _created()
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class RunEvent(Base):
    """A progress event of a run, in order (the SSE stream's source)."""

    __tablename__ = "run_event"
    __table_args__ = (Index("ix_run_event_run", "run_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = _created()


class Scorecard(Base):
    """One reviewer's levels and justification for the human signals of one run."""

    __tablename__ = "scorecard"
    __table_args__ = (UniqueConstraint("run_id", "reviewer_id"),)
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    run_id: Mapped[str] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    levels: Mapped[dict[str, Any]]
    justification: Mapped[str] = mapped_column(Text, default="")
    # The written reason for each signal's level, by signal name (required to submit).
    justifications: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    submitted_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = _created()


class Decision(Base):
    """Advance or reject a candidate on an assessment, with the reason."""

    __tablename__ = "decision"
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    candidate_id: Mapped[str] = mapped_column(
        ForeignKey("candidate.id", ondelete="CASCADE"), index=True
    )
    assessment_id: Mapped[str | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE")
    )
    decided_by: Mapped[str | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    outcome: Mapped[Outcome] = mapped_column(StrEnumType(Outcome))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()


class WebhookEndpoint(Base):
    """Where an organisation's events go; the whsec_ secret signs them, so it is kept whole."""

    __tablename__ = "webhook_endpoint"
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = _created()


class WebhookDelivery(Base):
    """One event for one endpoint (the outbox): the same message id on every attempt."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index("ix_webhook_delivery_due", "state", "next_attempt_at"),)
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    state: Mapped[DeliveryState] = mapped_column(
        StrEnumType(DeliveryState), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = _created()
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = _created()
    delivered_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    """Who did what to which object, kept for the organisation."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_org_time", "org_id", "created_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = _created()


class Blob(Base):
    """Content-addressed bytes; `data` is null when the blob lives in the folder store."""

    __tablename__ = "blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = _created()


class WebSession(Base):
    """A signed-in browser: the cookie's secret is kept as its sha256, and it expires."""

    __tablename__ = "web_session"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    org_id: Mapped[str] = _org()
    created_at: Mapped[dt.datetime] = _created()
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class SignInFailure(Base):
    """A failed sign-in, counted per e-mail and per client address to slow guessing down."""

    __tablename__ = "sign_in_failure"
    __table_args__ = (
        Index("ix_sign_in_failure_email", "email", "created_at"),
        Index("ix_sign_in_failure_address", "address", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = _created()


class TeamInvite(Base):
    """An owner's invitation of a teammate by e-mail: a single-use expiring link (hashed)."""

    __tablename__ = "team_invite"
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    expires_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = _created()


class Mail(Base):
    """A mail the service sent (SMTP) or keeps in the outbox for owners to pass on."""

    __tablename__ = "mail"
    __table_args__ = (Index("ix_mail_org_time", "org_id", "created_at"),)
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(2000), default="")
    # "outbox" (no SMTP configured), "sent" or "failed" (with the error).
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = _created()


class InvitationReminder(Base):
    """The reminder sent before an invitation's deadline: at most one per invitation."""

    __tablename__ = "invitation_reminder"
    invitation_id: Mapped[str] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), primary_key=True
    )
    sent_at: Mapped[dt.datetime] = _created()


class SubmissionFingerprint(Base):
    """A submission's code fingerprints (winnowed, the assessment's starter subtracted),
    computed once by a worker after intake: 8-byte hashes, packed and sorted."""

    __tablename__ = "submission_fingerprint"
    submission_id: Mapped[str] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = _org()
    assessment_id: Mapped[str | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    hashes: Mapped[bytes] = mapped_column(LargeBinary)
    count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = _created()


class SimilarityPair(Base):
    """Two submissions of one assessment sharing code at or above the threshold (a < b)."""

    __tablename__ = "similarity_pair"
    __table_args__ = (UniqueConstraint("a_submission_id", "b_submission_id"),)
    id: Mapped[str] = _id()
    org_id: Mapped[str] = _org()
    assessment_id: Mapped[str] = mapped_column(
        ForeignKey("assessment.id", ondelete="CASCADE"), index=True
    )
    a_submission_id: Mapped[str] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    b_submission_id: Mapped[str] = mapped_column(
        ForeignKey("submission.id", ondelete="CASCADE"), index=True
    )
    similarity: Mapped[float] = mapped_column(Float)
    shared: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = _created()
