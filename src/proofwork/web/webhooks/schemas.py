from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from proofwork.store.models import DeliveryState

EventType = Literal["run.completed", "run.failed", "scorecard.submitted", "decision.recorded"]


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")
    events: list[EventType] = Field(default_factory=list, description="Empty: every event")


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str
    created_at: dt.datetime


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The whsec_ signing secret; shown only this once")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    endpoint_id: str
    message_id: str = Field(description="The webhook-id header, the same on every attempt")
    event_type: str
    payload: dict[str, Any]
    state: DeliveryState
    attempts: int
    next_attempt_at: dt.datetime
    last_status: int | None
    last_error: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
