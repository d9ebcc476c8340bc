"""The assessment's similar pairs through the API: for the hiring team, not blind reviewers."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from web_support import World

from proofwork.store.models import SimilarityPair, Submission


def test_the_hiring_team_reads_an_assessments_similar_pairs(
    client: TestClient, world: World, session: Session
) -> None:
    first = session.get_one(Submission, world.ids["submission_id"])
    second = Submission(
        org_id=first.org_id, assessment_id=first.assessment_id, sha256=first.sha256,
        size=first.size, origin="upload",
    )  # fmt: skip
    session.add(second)
    session.flush()
    a, b = sorted((first.id, second.id))
    session.add(
        SimilarityPair(
            org_id=first.org_id,
            assessment_id=first.assessment_id,
            a_submission_id=a,
            b_submission_id=b,
            similarity=0.91,
            shared=120,
        )
    )
    session.commit()
    url = f"/api/v1/assessments/{world.ids['assessment_id']}/similarity"
    found = client.get(url, headers=world.headers("recruiter"))
    assert found.status_code == 200
    body = found.json()
    assert body["threshold"] == 0.35 and body["fingerprinted"] == 0
    assert [
        (p["a_submission_id"], p["b_submission_id"], p["similarity"]) for p in body["pairs"]
    ] == [(a, b, 0.91)]
    assert body["pairs"][0]["shared_fingerprints"] == 120
    assert client.get(url, headers=world.headers("reviewer")).status_code == 403
    assert client.get(url, headers=world.headers("outsider")).status_code == 404
