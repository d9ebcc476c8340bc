"""Pairs of an assessment's submissions sharing code beyond the starter, as workers stored them.

Each submission is fingerprinted once by the worker that takes its first run
(`proofwork.jobs.similarity`), then compared with the assessment's others; pairs at or above
the threshold are kept. Reading them is one query: the hiring pages and the API call
`pairs_among`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from proofwork.challenges import discover
from proofwork.config import Settings
from proofwork.similarity.compare import DEFAULT_THRESHOLD, compare
from proofwork.similarity.report import SimilarityReport, render_html
from proofwork.similarity.run import ingested, pack_files
from proofwork.store.blobs import BlobStore
from proofwork.web.assessments.service import get_assessment
from proofwork.web.auth import Principal
from proofwork.web.errors import not_found
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


def pair_report(
    *,
    session: Session,
    principal: Principal,
    blobs: BlobStore,
    settings: Settings,
    assessment_id: str,
    submission_ids: tuple[str, str],
) -> str:
    """Two of the assessment's submissions compared again, with their shared regions side by
    side (the CLI's similarity page), the pack's given code left out; 404 unless both are the
    assessment's."""
    assessment = get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    rows = repository.named_submissions(session, principal.org_id, assessment.id, submission_ids)
    if len(set(submission_ids)) != 2 or len(rows) != 2:
        raise not_found("submission")
    order = {sid: n for n, sid in enumerate(submission_ids)}
    rows.sort(key=lambda row: order[row[0]])
    labels = [name or f"submission {sid[:8]}" for sid, _, name in rows]
    if labels[0] == labels[1]:
        labels = [f"{label} ({sid[:8]})" for label, (sid, _, _) in zip(labels, rows, strict=True)]
    with tempfile.TemporaryDirectory(prefix="pw-similarity-pair-") as scratch:
        root = Path(scratch)
        trees = root / "trees"
        trees.mkdir()
        submissions = []
        for n, ((_, sha256, _), label) in enumerate(zip(rows, labels, strict=True)):
            archive = root / f"archive-{n}"
            archive.write_bytes(blobs.read(session, sha256))
            submissions.append(ingested(archive, label, trees, settings))
    pack = None
    if assessment.pack_id is not None:
        pack = discover(settings.challenges_path).get(assessment.pack_id)
    report = SimilarityReport(
        submissions=submissions,
        sources={label: "" for label in labels},
        pairs=compare(submissions, pack_files(pack) if pack else None, DEFAULT_THRESHOLD),
        threshold=DEFAULT_THRESHOLD,
        starter=f"pack {pack.id}" if pack else None,
    )
    return render_html(report)
