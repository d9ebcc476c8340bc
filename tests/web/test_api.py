"""The API's behaviour: uploads streamed and capped, the intake's refusals, runs, reports, events,
blind review, tokens, erasure, and the one error shape for bad input."""

from __future__ import annotations

import io
import zipfile

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from web_support import EMAIL, NAME, World, tiny_archive

from proofwork.store.models import ApiToken, Blob, RunEvent, Submission, utcnow
from proofwork.web.app import Services


def _upload(client: TestClient, world: World, persona: str, data: bytes, **fields: str) -> object:
    files = {"file": ("work.tar.gz", data, "application/gzip")}
    return client.post(
        "/api/v1/submissions", headers=world.headers(persona), files=files, data=fields
    )


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_a_call_without_a_token_gets_401_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/runs")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthenticated"
    assert "Authorization: Bearer" in response.json()["error"]["message"]


def test_an_invitation_token_uploads_once_for_its_own_invitation(
    client: TestClient, world: World
) -> None:
    other = client.post(
        "/api/v1/candidates", headers=world.headers("owner"), json={"name": "B", "email": "b@x.y"}
    ).json()
    refused = _upload(client, world, "candidate", tiny_archive(), candidate_id=other["id"])
    assert refused.status_code == 404  # not theirs: as if it did not exist
    response = _upload(client, world, "candidate", tiny_archive())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["candidate_id"] == world.ids["candidate_id"]
    assert body["origin"] == "invitation"
    assert body["run"]["state"] == "queued" and body["run"]["queue_position"] == 0
    assert _upload(client, world, "candidate", tiny_archive()).status_code == 401  # used up


def test_an_upload_over_the_cap_is_refused_while_streaming_and_nothing_is_kept(
    client: TestClient, world: World, session: Session
) -> None:
    before = (_count(session, Submission), _count(session, Blob))

    def body() -> object:  # no Content-Length: the cap must hold on the stream itself
        boundary = b"XyZ"
        yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\n\r\n'
        for _ in range(200):
            yield b"x" * 1024
        yield b"\r\n--" + boundary + b"--\r\n"

    response = client.post(
        "/api/v1/submissions",
        headers={**world.headers("owner"), "Content-Type": "multipart/form-data; boundary=XyZ"},
        content=body(),
    )
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_large",
        "message": "the upload is larger than the 65536 bytes allowed",
        "fields": [],
    }
    assert (_count(session, Submission), _count(session, Blob)) == before


def test_zip_slip_and_zip_bomb_are_refused_with_the_intakes_reason(
    client: TestClient, world: World, session: Session
) -> None:
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as archive:
        archive.writestr("../../etc/evil.py", "print('escaped')\n")
    response = _upload(client, world, "owner", slip.getvalue())
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "refused"
    assert "refused" in response.json()["error"]["message"]
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.txt", b"\0" * (1024 * 1024))  # 1 MiB unpacked; the cap is 64 KiB
    response = _upload(client, world, "owner", bomb.getvalue())
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "refused"
    assert _count(session, Submission) == 1  # only the world's own


def test_malformed_json_and_wrong_types_get_the_error_shape(
    client: TestClient, world: World
) -> None:
    headers = {**world.headers("owner"), "Content-Type": "application/json"}
    response = client.post("/api/v1/assessments", headers=headers, content=b"{not json")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"
    response = client.post("/api/v1/assessments", headers=headers, json={"title": 5, "x": 1})
    fields = {f["location"] for f in response.json()["error"]["fields"]}
    assert response.status_code == 422 and {"body.title", "body.x"} <= fields
    response = client.post(
        "/api/v1/assessments", headers=headers, json={"title": "t", "pack_id": "nope"}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "unknown_pack"


def test_runs_page_through_a_cursor_without_gaps_or_repeats(
    client: TestClient, world: World
) -> None:
    owner = world.headers("owner")
    made = {
        client.post(
            "/api/v1/runs", headers=owner, json={"submission_id": world.ids["submission_id"]}
        ).json()["id"]
        for _ in range(4)
    }
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/runs", headers=owner, params=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5 and made <= set(seen)
    queued = client.get("/api/v1/runs", headers=owner, params={"state": "queued"}).json()["items"]
    assert {item["id"] for item in queued} == made
    bad = client.get("/api/v1/runs", headers=owner, params={"cursor": "!!"})
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]["message"]


def test_a_run_is_cancelled_rerun_and_shows_its_place_in_the_queue(
    client: TestClient, world: World
) -> None:
    owner = world.headers("owner")
    done = world.ids["run_id"]
    first = client.post(f"/api/v1/runs/{done}/rerun", headers=owner).json()
    second = client.post(f"/api/v1/runs/{done}/rerun", headers=owner).json()
    assert (first["queue_position"], second["queue_position"]) == (0, 1)
    assert first["submission_id"] == world.ids["submission_id"] and first["state"] == "queued"
    cancelled = client.post(f"/api/v1/runs/{first['id']}/cancel", headers=owner).json()
    assert cancelled["state"] == "cancelled"
    assert client.get(f"/api/v1/runs/{second['id']}", headers=owner).json()["queue_position"] == 0
    again = client.post(f"/api/v1/runs/{first['id']}/cancel", headers=owner)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_reports_are_served_once_a_run_is_done(client: TestClient, world: World) -> None:
    reviewer = world.headers("recruiter")  # a reviewer's, blind, in tests/web/test_reviews.py
    run_id = world.ids["run_id"]
    report = client.get(f"/api/v1/runs/{run_id}/report", headers=reviewer)
    assert report.json() == {"schema": "proofwork.report/1"}
    html = client.get(f"/api/v1/runs/{run_id}/report.html", headers=reviewer)
    assert html.headers["content-type"].startswith("text/html") and "<title>" in html.text
    queued = client.post(f"/api/v1/runs/{run_id}/rerun", headers=world.headers("owner")).json()
    response = client.get(f"/api/v1/runs/{queued['id']}/report", headers=reviewer)
    assert response.status_code == 409 and "queued" in response.json()["error"]["message"]


def test_run_events_stream_as_server_sent_events(
    client: TestClient, world: World, session: Session
) -> None:
    run_id = world.ids["run_id"]
    session.add_all(
        [
            RunEvent(run_id=run_id, attempt=1, kind="phase", name="intake"),
            RunEvent(run_id=run_id, attempt=1, kind="probe-start", name="tests"),
        ]
    )
    session.commit()
    response = client.get(f"/api/v1/runs/{run_id}/events", headers=world.headers("owner"))
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in response.text.split("\n\n") if b]
    kinds = [line for b in blocks for line in b.split("\n") if line.startswith("event:")]
    assert kinds == [
        "event: phase",
        "event: probe-start",
        "event: end",
    ]
    first_id = int(blocks[0].split("\n")[0].removeprefix("id: "))
    resumed = client.get(
        f"/api/v1/runs/{run_id}/events",
        headers={**world.headers("owner"), "Last-Event-ID": str(first_id)},
    )
    assert resumed.text.count("event: probe-start") == 1 and "event: phase" not in resumed.text


def test_reviewers_see_an_alias_never_a_name_or_email(client: TestClient, world: World) -> None:
    reviewer = world.headers("reviewer")
    for url in (
        "/api/v1/candidates",
        f"/api/v1/candidates/{world.ids['candidate_id']}",
        "/api/v1/runs",
    ):
        text = client.get(url, headers=reviewer).text
        assert "Candidate 1A2B3C" in text and NAME not in text and EMAIL not in text
    owner_view = client.get("/api/v1/candidates", headers=world.headers("owner")).text
    assert NAME in owner_view and EMAIL in owner_view


def test_a_revoked_token_stops_working_and_use_is_recorded(
    client: TestClient, world: World, session: Session
) -> None:
    assert client.get("/api/v1/runs", headers=world.headers("recruiter")).status_code == 200
    token = session.scalars(select(ApiToken).where(ApiToken.last_used_at.is_not(None))).all()
    assert len(token) == 1
    session.execute(update(ApiToken).values(revoked_at=utcnow()))
    session.commit()
    assert client.get("/api/v1/runs", headers=world.headers("recruiter")).status_code == 401


def test_scorecards_are_final_once_submitted_and_decisions_are_kept(
    client: TestClient, world: World
) -> None:
    reviewer, run_id = world.headers("reviewer"), world.ids["run_id"]
    url = f"/api/v1/runs/{run_id}/scorecards/mine"
    bad = client.put(url, headers=reviewer, json={"levels": {"tradeoffs": 7}})
    assert bad.status_code == 422
    unjustified = {"levels": {"tradeoffs": 3}, "submit": True}
    assert client.put(url, headers=reviewer, json=unjustified).status_code == 422
    card = {**unjustified, "justifications": {"tradeoffs": "names the lock's cost"}}
    saved = client.put(url, headers=reviewer, json=card)
    assert saved.status_code == 200 and saved.json()["submitted_at"]
    again = client.put(url, headers=reviewer, json={"levels": {"tradeoffs": 1}})
    assert again.status_code == 409
    decision = client.post(
        f"/api/v1/candidates/{world.ids['candidate_id']}/decisions",
        headers=world.headers("recruiter"),
        json={"outcome": "reject", "reason": "no tests"},
    )
    assert decision.status_code == 201 and decision.json()["outcome"] == "reject"


def test_deleting_a_candidate_erases_their_runs_and_reports(
    client: TestClient, world: World, services: Services
) -> None:
    candidate, run_id = world.ids["candidate_id"], world.ids["run_id"]
    owner = world.headers("owner")
    assert (
        client.delete(
            f"/api/v1/candidates/{candidate}", headers=world.headers("recruiter")
        ).status_code
        == 403
    )
    assert client.delete(f"/api/v1/candidates/{candidate}", headers=owner).status_code == 204
    assert client.get(f"/api/v1/runs/{run_id}", headers=owner).status_code == 404
    assert client.get(f"/api/v1/candidates/{candidate}", headers=owner).status_code == 404
    with services.factory() as session:
        assert _count(session, Blob) == 0 and _count(session, Submission) == 0
