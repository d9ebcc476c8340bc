"""Copied work, per assessment: a submission is fingerprinted once, after intake, by the worker
that takes its first run, and compared with the assessment's other submissions.

The fingerprints are `proofwork.similarity`'s (winnowed normalised tokens of every Python file)
minus what the assessment's pack gives everyone (its starter and files); pairs at or above the
threshold are stored with their score. The archive is unpacked with the grader's caps and
refusals, like every intake.
"""

from __future__ import annotations

import logging
import struct
import tempfile
from pathlib import Path

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from proofwork import intake
from proofwork.challenges import discover
from proofwork.config import Settings
from proofwork.engine import intake_caps
from proofwork.similarity.compare import DEFAULT_THRESHOLD, load
from proofwork.similarity.run import pack_files
from proofwork.store.blobs import BlobStore
from proofwork.store.database import read_only, unit_of_work
from proofwork.store.models import (
    Assessment,
    SimilarityPair,
    Submission,
    SubmissionFingerprint,
)

log = logging.getLogger(__name__)
HASH = struct.Struct(">Q")


def pack_hashes(hashes: set[int]) -> bytes:
    """Fingerprint hashes as stored: sorted 8-byte big-endian integers."""
    return b"".join(HASH.pack(h) for h in sorted(hashes))


def unpack_hashes(data: bytes) -> set[int]:
    """The hashes `pack_hashes` stored."""
    return {value for (value,) in HASH.iter_unpack(data)}


def similarity(a: set[int], b: set[int]) -> tuple[float, int]:
    """2·shared / (both sizes), as `proofwork.similarity` scores a pair; and the shared count."""
    shared = len(a & b)
    total = len(a) + len(b)
    return (2 * shared / total if total else 0.0), shared


def submission_hashes(archive: bytes, pack_id: str | None, settings: Settings) -> set[int]:
    """The submission's own fingerprints: its Python files' minus the pack's given code."""
    with tempfile.TemporaryDirectory(prefix="pw-similarity-") as scratch:
        source, tree = Path(scratch) / "submission", Path(scratch) / "tree"
        source.write_bytes(archive)
        intake.ingest(source, tree, intake_caps(settings))
        own = load("submission", tree).hashes
    if pack_id is not None:
        own -= pack_files(discover(settings.challenges_path).get(pack_id)).hashes
    return own


def fingerprint_submission(
    *,
    factory: sessionmaker[Session],
    blobs: BlobStore,
    settings: Settings,
    submission_id: str,
    threshold: float = DEFAULT_THRESHOLD,
) -> bool:
    """Fingerprint an assessment's submission (once) and store its pairs with the assessment's
    others at or above `threshold`; False when there was nothing to do."""
    with read_only(factory) as session:
        submission = session.get_one(Submission, submission_id)
        done = session.get(SubmissionFingerprint, submission_id) is not None
        if submission.assessment_id is None or done:
            return False
        org_id, assessment_id = submission.org_id, submission.assessment_id
        pack_id = session.get_one(Assessment, assessment_id).pack_id
        archive = blobs.read(session, submission.sha256)
    hashes = submission_hashes(archive, pack_id, settings)
    try:
        with unit_of_work(factory) as session:
            session.add(
                SubmissionFingerprint(
                    submission_id=submission_id,
                    org_id=org_id,
                    assessment_id=assessment_id,
                    hashes=pack_hashes(hashes),
                    count=len(hashes),
                )
            )
    except IntegrityError:  # another worker fingerprinted it meanwhile
        return False
    compare_with_others(factory, submission_id, hashes, threshold)
    return True


def compare_with_others(
    factory: sessionmaker[Session], submission_id: str, hashes: set[int], threshold: float
) -> int:
    """Store the submission's pairs at or above `threshold` with the other fingerprinted
    submissions of its assessment (replacing its earlier ones); how many were stored."""
    for _ in range(3):  # two workers storing the same pair at once: the loser tries again
        try:
            with unit_of_work(factory) as session:
                return _store_pairs(session, submission_id, hashes, threshold)
        except IntegrityError:
            continue
    return 0


def _store_pairs(session: Session, submission_id: str, hashes: set[int], threshold: float) -> int:
    mine = session.get_one(SubmissionFingerprint, submission_id)
    others = session.execute(
        select(SubmissionFingerprint.submission_id, SubmissionFingerprint.hashes).where(
            SubmissionFingerprint.assessment_id == mine.assessment_id,
            SubmissionFingerprint.submission_id != submission_id,
        )
    ).all()
    session.execute(
        delete(SimilarityPair).where(
            or_(
                SimilarityPair.a_submission_id == submission_id,
                SimilarityPair.b_submission_id == submission_id,
            )
        )
    )
    stored = 0
    for other_id, data in others:
        score, shared = similarity(hashes, unpack_hashes(data))
        if score < threshold or not shared:
            continue
        a, b = sorted((submission_id, other_id))
        session.add(
            SimilarityPair(
                org_id=mine.org_id,
                assessment_id=mine.assessment_id,
                a_submission_id=a,
                b_submission_id=b,
                similarity=score,
                shared=shared,
            )
        )
        stored += 1
    session.flush()
    return stored
