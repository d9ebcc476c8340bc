"""Pairs of an assessment's submissions sharing code beyond the starter, as workers stored them.

Each submission is fingerprinted once by the worker that takes its first run
(`proofwork.jobs.similarity`), then compared with the assessment's others; pairs at or above
the threshold are kept. Reading them is one query: the hiring pages and the API call
`pairs_among`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.orm import Session

from proofwork.similarity.compare import DEFAULT_THRESHOLD
from proofwork.web.auth import Principal
from proofwork.web.similarity import repository
from proofwork.web.similarity.schemas import AssessmentSimilarityOut, SimilarPairOut


@dataclass(frozen=True)
class SimilarPair:
    """Two submissions of one assessment that share code (a flagged pair)."""

    a_submission_id: str
    b_submission_id: str
    a_candidate_id: str | None
    b_candidate_id: str | None
    similarity: float  # 2·shared / (fingerprints of both), the starter's left out
    shared: int  # fingerprints in common


def pairs_among(
    session: Session, org_id: str, assessment_id: str, submission_ids: Collection[str] | None
) -> list[SimilarPair]:
    """The flagged pairs of the assessment whose two submissions are both among
    `submission_ids` (None: all of the assessment's), most similar first."""
    return [
        SimilarPair(*row)
        for row in repository.pairs(session, org_id, assessment_id, submission_ids)
    ]


def assessment_similarity(
    *, session: Session, principal: Principal, assessment_id: str
) -> AssessmentSimilarityOut:
    """The assessment's flagged pairs, as the API shows them."""
    found = pairs_among(session, principal.org_id, assessment_id, None)
    return AssessmentSimilarityOut(
        threshold=DEFAULT_THRESHOLD,
        fingerprinted=repository.fingerprinted(session, principal.org_id, assessment_id),
        pairs=[
            SimilarPairOut(
                a_submission_id=p.a_submission_id,
                b_submission_id=p.b_submission_id,
                a_candidate_id=p.a_candidate_id,
                b_candidate_id=p.b_candidate_id,
                similarity=round(p.similarity, 4),
                shared_fingerprints=p.shared,
            )
            for p in found
        ],
    )
