from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from proofwork.store.models import InvitationState


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assessment_id: str = Field(max_length=32)
    candidate_id: str = Field(max_length=32)


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    assessment_id: str
    candidate_id: str
    state: InvitationState
    expires_at: dt.datetime
    created_at: dt.datetime


class InvitationCreated(InvitationOut):
    token: str = Field(description="The candidate's bearer token; shown only this once")
