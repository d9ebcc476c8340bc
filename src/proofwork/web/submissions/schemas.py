from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from proofwork.web.runs.schemas import RunOut


class SubmissionOut(BaseModel):
    id: str
    sha256: str = Field(description="sha256 of the uploaded archive (its blob's name)")
    size: int
    origin: str
    candidate_id: str | None
    assessment_id: str | None
    invitation_id: str | None
    created_at: dt.datetime


class SubmissionCreated(SubmissionOut):
    run: RunOut = Field(description="The run queued for it")


UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The repository: .zip, .tar.gz or git bundle",
                    },
                    "candidate_id": {"type": "string", "maxLength": 32},
                    "assessment_id": {"type": "string", "maxLength": 32},
                    "probes": {
                        "type": "string",
                        "description": "Comma-separated probe names; default: all",
                    },
                },
            }
        }
    },
}
