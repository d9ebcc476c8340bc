"""Every route of the OpenAPI document, called by every persona: outsiders and anonymous callers
get nothing, each role gets what the permission table says, reviewers never see names."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from web_support import EMAIL, NAME, PERSONAS, World, tiny_archive

from proofwork.web.app import openapi_document, route_permissions
from proofwork.web.auth import CANDIDATE, PERMISSIONS


def _routes() -> list[tuple[str, str]]:
    paths: dict[str, dict[str, Any]] = openapi_document()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


ROUTES = _routes()
NAMING_ORG_A_OBJECTS = {("POST", "/api/v1/invitations"), ("POST", "/api/v1/runs")}
PERMISSION_OF = route_permissions()
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/assessments"): {"title": "Round 2"},
    ("POST", "/api/v1/candidates"): {"name": "Bob", "email": "bob@example.org"},
    ("POST", "/api/v1/invitations"): {
        "assessment_id": "{assessment_id}",
        "candidate_id": "{candidate_id}",
    },
    ("POST", "/api/v1/runs"): {"submission_id": "{submission_id}", "probes": ["static"]},
    ("PUT", "/api/v1/runs/{run_id}/scorecards/mine"): {"levels": {"tradeoffs": 3}},
    ("POST", "/api/v1/candidates/{candidate_id}/decisions"): {"outcome": "advance", "reason": "ok"},
    ("POST", "/api/v1/webhook-endpoints"): {"url": "https://hooks.example.org/new"},
}


def _call(client: TestClient, world: World, persona: str, method: str, path: str) -> Any:
    url = path.format(**world.ids)
    headers = world.headers(persona)
    if (method, path) == ("POST", "/api/v1/submissions"):
        files = {"file": ("work.tar.gz", tiny_archive(), "application/gzip")}
        return client.post(url, headers=headers, files=files)
    body = BODIES.get((method, path))
    if body is not None:
        body = {k: v.format(**world.ids) if isinstance(v, str) else v for k, v in body.items()}
    return client.request(method, url, headers=headers, json=body)


# Destructive calls last: the owner may erase the candidate the others were asked about.
ORDER = ["anonymous", "outsider", "candidate", "reviewer", "recruiter", "owner"]
assert sorted(ORDER) == sorted(PERSONAS)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_persona_gets_what_the_permission_table_says(
    client: TestClient, world: World, method: str, path: str
) -> None:
    for persona in ORDER:
        _check(_call(client, world, persona, method, path), world, persona, method, path)


def _check(response: Any, world: World, persona: str, method: str, path: str) -> None:
    status, text = response.status_code, f"{persona}: {response.text}"
    assert status < 500, text
    if status >= 400:
        assert set(response.json()) == {"error"}, text  # one error shape everywhere
    permission = PERMISSION_OF.get((method, path))
    if permission is None:  # the health check: open to all
        assert status == 200, text
        return
    if persona == "anonymous":
        assert status == 401, text
    elif persona == "outsider":
        # Another organisation's objects do not exist for them; lists show only their own.
        if "{" in path or (method, path) in NAMING_ORG_A_OBJECTS:
            assert status == 404, text
        assert not any(secret in response.text for secret in world.secrets), text
    else:
        role = CANDIDATE if persona == "candidate" else persona
        if role not in PERMISSIONS[permission]:
            assert status == 403, text
        else:
            blinded = persona == "reviewer" and path.startswith("/api/v1/runs/{run_id}/report")
            # A blind reviewer reads the report once their own scorecard is submitted.
            assert status in (200, 201, 204, 409) or (blinded and status == 403), text
    if persona in ("reviewer", "candidate"):
        assert NAME not in response.text and EMAIL not in response.text, text


def test_every_route_but_the_health_check_needs_a_permission() -> None:
    assert {route for route in ROUTES if route not in PERMISSION_OF} == {("GET", "/api/v1/health")}
