from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from proofwork.store.models import RunState


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    submission_id: str = Field(max_length=32)
    probes: list[str] | None = Field(
        None, max_length=20, description="Only these probes; default: all of them"
    )


class RunOut(BaseModel):
    id: str
    state: RunState
    submission_id: str
    candidate_id: str | None
    candidate_alias: str | None
    assessment_id: str | None
    challenge: str | None
    probes: list[str] | None
    phase: str = Field(description="What the run is doing now (intake, a probe's name, …)")
    attempts: int
    queue_position: int | None = Field(description="Queued runs ahead of this one")
    cancel_requested: bool
    reason: str = Field(description="Why it failed or was cancelled")
    summary: dict[str, Any] | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class RunEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    attempt: int
    kind: str
    name: str
    message: str
    created_at: dt.datetime
