from __future__ import annotations

from pydantic import BaseModel, Field


class SimilarPairOut(BaseModel):
    a_submission_id: str
    b_submission_id: str
    a_candidate_id: str | None
    b_candidate_id: str | None
    similarity: float = Field(description="2·shared / (fingerprints of both), 0-1")
    shared_fingerprints: int


class AssessmentSimilarityOut(BaseModel):
    threshold: float = Field(description="Pairs at or above this similarity are kept")
    fingerprinted: int = Field(description="Submissions fingerprinted so far")
    pairs: list[SimilarPairOut]
