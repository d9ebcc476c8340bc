from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, aliased

from proofwork.store.models import Candidate, SimilarityPair, Submission, SubmissionFingerprint


def pairs(
    session: Session, org_id: str, assessment_id: str, submission_ids: Collection[str] | None
) -> list[Row[str, str, str | None, str | None, float, int]]:
    """The assessment's stored pairs (both ends among `submission_ids` when given), most
    similar first, with each end's candidate."""
    a, b = aliased(Submission), aliased(Submission)
    query = (
        select(
            SimilarityPair.a_submission_id,
            SimilarityPair.b_submission_id,
            a.candidate_id,
            b.candidate_id,
            SimilarityPair.similarity,
            SimilarityPair.shared,
        )
        .join(a, a.id == SimilarityPair.a_submission_id)
        .join(b, b.id == SimilarityPair.b_submission_id)
        .where(SimilarityPair.org_id == org_id, SimilarityPair.assessment_id == assessment_id)
        .order_by(SimilarityPair.similarity.desc(), SimilarityPair.id)
    )
    if submission_ids is not None:
        ids = list(submission_ids)
        query = query.where(
            SimilarityPair.a_submission_id.in_(ids), SimilarityPair.b_submission_id.in_(ids)
        )
    return list(session.execute(query).all())


def fingerprinted(session: Session, org_id: str, assessment_id: str) -> int:
    """How many of the assessment's submissions have their fingerprints."""
    return (
        session.scalar(
            select(func.count()).where(
                SubmissionFingerprint.org_id == org_id,
                SubmissionFingerprint.assessment_id == assessment_id,
            )
        )
        or 0
    )


def named_submissions(
    session: Session, org_id: str, assessment_id: str, submission_ids: Collection[str]
) -> list[Row[str, str, str | None]]:
    """The assessment's submissions among `submission_ids`: id, archive sha256, candidate name."""
    query = (
        select(Submission.id, Submission.sha256, Candidate.name)
        .outerjoin(Candidate, Candidate.id == Submission.candidate_id)
        .where(
            Submission.org_id == org_id,
            Submission.assessment_id == assessment_id,
            Submission.id.in_(list(submission_ids)),
        )
    )
    return list(session.execute(query).all())
