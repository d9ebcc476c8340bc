from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    pack_id: str | None = Field(None, max_length=100, description="A challenge pack; none: generic")
    time_box_minutes: int | None = Field(None, ge=1, le=10_080, description="Default: the pack's")
    invitation_expiry_hours: int = Field(168, ge=1, le=8760)
    feedback_visible: bool = Field(
        False, description="Candidates see their signals and findings once decided"
    )


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    title: str
    pack_id: str | None
    pack_version: str | None
    time_box_minutes: int
    invitation_expiry_hours: int
    feedback_visible: bool
    created_at: dt.datetime
