"""The OpenAPI document: served, committed, and honoured (Schemathesis against our own app)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from web_support import World

from proofwork.web.openapi import COMMITTED, render


def test_the_committed_document_is_the_served_one(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    assert json.loads(COMMITTED.read_text()) == served, "run `make openapi` and commit the result"
    assert COMMITTED.read_text() == render()


@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_the_api_keeps_its_own_contract(app: FastAPI, world: World) -> None:
    """Generated requests for every operation: no 5xx, responses as documented."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = world.headers("owner")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events"):
            continue  # a stream that follows a run for up to wait_s; tested in test_api

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            # Names the schema cannot list (packs, probes) and archives the intake refuses are
            # schema-valid yet refused with 422 by design, so that one check is left out.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
        checked.append(operation.label)
    assert len(checked) >= 20
