"""Copied work per assessment: real submissions fingerprinted once by the worker, the pack's
starter left out, a disguised copy flagged and an honest pair not, read back with pairs_among."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest
from databases import Store

from proofwork.config import load_settings
from proofwork.jobs.similarity import fingerprint_submission
from proofwork.store.database import read_only, unit_of_work
from proofwork.store.models import Assessment, Organisation, Role, Submission, SubmissionFingerprint
from proofwork.web.auth import Principal
from proofwork.web.errors import ApiError
from proofwork.web.similarity import pairs_among
from proofwork.web.similarity.service import pair_report

SRC = Path(__file__).resolve().parents[2] / "src" / "proofwork"
REFERENCE = SRC / "challenges" / "packs" / "sales-ledger" / "reference"
INDEPENDENT = SRC / "samples" / "ledger-solid"  # another ledger, written apart from it


def archive(root: Path, disguise: bool = False) -> bytes:
    """A .tar.gz of the folder's files; disguised: comments and identifiers changed."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            if disguise and path.suffix == ".py":
                text = re.sub(
                    r"\b(amount|total|line|lines|entry|entries)\b", r"my_\1", data.decode()
                )
                data = ("# All my own work, written from scratch.\n" + text).encode()
            info = tarfile.TarInfo(f"work/{path.relative_to(root)}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_a_disguised_copy_is_flagged_and_an_honest_pair_is_not(fresh_store: Store) -> None:
    with unit_of_work(fresh_store.factory) as session:
        org = Organisation(name="Acme")
        session.add(org)
        session.flush()
        assessment = Assessment(
            org_id=org.id, title="Ledger", pack_id="sales-ledger", time_box_minutes=120
        )
        session.add(assessment)
        session.flush()
        ids = {}
        for name, data in (
            ("original", archive(REFERENCE)),
            ("copy", archive(REFERENCE, disguise=True)),
            ("honest", archive(INDEPENDENT)),
        ):
            blob = fresh_store.blobs.put(session, [data])
            submission = Submission(
                org_id=org.id, assessment_id=assessment.id, sha256=blob.sha256,
                size=blob.size, origin="upload",
            )  # fmt: skip
            session.add(submission)
            session.flush()
            ids[name] = submission.id
        org_id, assessment_id = org.id, assessment.id
    settings = load_settings()
    for submission_id in ids.values():  # one at a time, as their first runs are taken
        assert fingerprint_submission(
            factory=fresh_store.factory, blobs=fresh_store.blobs, settings=settings,
            submission_id=submission_id,
        )  # fmt: skip
    again = fingerprint_submission(
        factory=fresh_store.factory, blobs=fresh_store.blobs, settings=settings,
        submission_id=ids["copy"],
    )  # fmt: skip
    assert not again  # computed once
    with read_only(fresh_store.factory) as session:
        pairs = pairs_among(session, org_id, assessment_id, list(ids.values()))
        assert [{p.a_submission_id, p.b_submission_id} for p in pairs] == [
            {ids["original"], ids["copy"]}
        ]
        assert pairs[0].similarity >= 0.8 and pairs[0].shared > 50
        # Only pairs whose both ends were asked for; another organisation sees nothing.
        assert pairs_among(session, org_id, assessment_id, [ids["original"], ids["honest"]]) == []
        assert pairs_among(session, "someone-else", assessment_id, None) == []
        prints = session.get_one(SubmissionFingerprint, ids["honest"])
        assert prints.count > 50  # the honest pair was compared, and stayed below the threshold
        found = pair_report(
            session=session, principal=Principal(org_id, Role.OWNER), blobs=fresh_store.blobs,
            settings=settings, assessment_id=assessment_id,
            submission_ids=(ids["original"], ids["copy"]),
        )  # fmt: skip
        elsewhere = Principal("someone-else", Role.OWNER)
        with pytest.raises(ApiError) as refused:
            pair_report(
                session=session, principal=elsewhere, blobs=fresh_store.blobs,
                settings=settings, assessment_id=assessment_id,
                submission_ids=(ids["original"], ids["copy"]),
            )  # fmt: skip
    assert refused.value.status == 404
    # The pair's shared code side by side, as the compare page links to it.
    assert "my_amount" in found and "submission " + ids["copy"][:8] in found
