from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from proofwork.store.models import Outcome

Justification = Annotated[str, Field(max_length=20_000)]


class ScorecardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    levels: dict[str, int] = Field(description="Level 0-4 per human-scored signal", max_length=20)
    justifications: dict[str, Justification] = Field(
        default_factory=dict,
        description="The written reason for each signal's level; required for every level "
        "to submit",
        max_length=20,
    )
    justification: str = Field("", max_length=20_000, description="An overall note (optional)")
    submit: bool = Field(False, description="Submit (final) rather than save a draft")


class ScorecardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    run_id: str
    reviewer_id: str
    levels: dict[str, int]
    justifications: dict[str, str]
    justification: str
    submitted_at: dt.datetime | None
    created_at: dt.datetime


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    reason: str = Field(min_length=1, max_length=20_000)
    assessment_id: str | None = Field(None, max_length=32)


class DecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    candidate_id: str
    assessment_id: str | None
    outcome: Outcome
    reason: str
    decided_by: str | None
    created_at: dt.datetime
