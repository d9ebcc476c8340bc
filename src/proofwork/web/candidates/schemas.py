from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from proofwork.store.models import Candidate
from proofwork.web.auth import Principal

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
NAME_MAX, EMAIL_MAX = 200, 320


class CandidateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=NAME_MAX)
    email: str = Field(min_length=3, max_length=EMAIL_MAX, pattern=EMAIL_PATTERN)


class CandidateOut(BaseModel):
    id: str
    alias: str = Field(description="What blind reviewers see instead of the name")
    name: str | None = Field(description="Hidden (null) from reviewers")
    email: str | None = Field(description="Hidden (null) from reviewers")
    created_at: dt.datetime

    @classmethod
    def seen_by(cls, candidate: Candidate, principal: Principal) -> CandidateOut:
        """The candidate as this caller may see them."""
        blind = principal.blind
        return cls(
            id=candidate.id,
            alias=candidate.alias,
            name=None if blind else candidate.name,
            email=None if blind else candidate.email,
            created_at=candidate.created_at,
        )
