"""The pages' security: every page route walked by every persona (nothing leaks), forged posts
refused, the sign-in rate limit, the session cookie's flags, the headers, the API by session."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from web_support import EMAIL, NAME, World

from proofwork.store.database import unit_of_work
from proofwork.store.models import (
    Assessment,
    Candidate,
    Invitation,
    Membership,
    Organisation,
    User,
    WebSession,
    utcnow,
)
from proofwork.web import pages
from proofwork.web.app import Services
from proofwork.web.auth import INVITATION_PREFIX, hash_secret, new_secret
from proofwork.web.pages.security import CSP
from proofwork.web.pages.session import BROWSER_COOKIE, SESSION_COOKIE, hash_password

PASSWORD = "a long enough password"
MEMBERS = ["owner", "recruiter", "reviewer", "outsider"]
EMAILS = {
    "owner": "owner@acme.test",
    "recruiter": "recruiter@acme.test",
    "reviewer": "reviewer@acme.test",
    "outsider": "o@other.test",
}


def _session_cookie(services: Services, email: str, password: bool = False) -> str:
    """A signed-in session for the member (as the sign-in page would make it); with
    `password`, the member's password is set to PASSWORD."""
    secret = secrets.token_urlsafe(32)
    with unit_of_work(services.factory) as session:
        user = session.query(User).filter(User.email == email).one()
        member = session.query(Membership).filter(Membership.user_id == user.id).one()
        if password:
            user.password_hash = hash_password(PASSWORD)
        expires = utcnow().replace(year=utcnow().year + 1)
        session.add(
            WebSession(
                id_hash=hash_secret(secret), user_id=user.id, org_id=member.org_id,
                expires_at=expires,
            )
        )  # fmt: skip
    return secret


def _browser(app: FastAPI, session_secret: str | None = None, **kwargs: Any) -> TestClient:
    cookies = {SESSION_COOKIE: session_secret} if session_secret else {}
    return TestClient(
        app, raise_server_exceptions=False, follow_redirects=False, cookies=cookies, **kwargs
    )


def _token(client: TestClient, path: str = "/sign-in") -> str:
    """The CSRF token of the page at `path` (and the browser cookie it is bound to)."""
    response = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.text) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', response.text
    )
    assert found, response.text
    return found.group(1)


def _flatten(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, through included routers (however FastAPI keeps them)."""
    found = []
    for route in routes:
        if isinstance(route, APIRoute):
            found += [(method, prefix + route.path) for method in sorted(route.methods or ())]
        elif hasattr(route, "original_router"):
            context = route.include_context
            found += _flatten(route.original_router.routes, prefix + (context.prefix or ""))
    return found


def _page_routes() -> list[tuple[str, str]]:
    return _flatten(pages.router.routes)


PAGE_ROUTES = _page_routes()
GET_ROUTES = [path for method, path in PAGE_ROUTES if method == "GET"]
UNSAFE_ROUTES = [(m, p) for m, p in PAGE_ROUTES if m in ("POST", "PUT", "PATCH", "DELETE")]


def _fill(path: str, world: World, token: str) -> str:
    """The path with org A's ids for its parameters, and `token` for a link's secret."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name in world.ids:
            return world.ids[name]
        return token

    return re.sub(r"\{([^}]+)\}", value, path)


@pytest.fixture
def personas(app: FastAPI, services: Services, world: World) -> dict[str, TestClient]:
    clients = {name: _browser(app, _session_cookie(services, EMAILS[name])) for name in MEMBERS}
    clients["anonymous"] = _browser(app)
    return clients


def test_pages_are_not_in_the_api_document() -> None:
    from proofwork.web.app import openapi_document

    assert all(path.startswith("/api/v1") for path in openapi_document()["paths"])
    assert ("GET", "/sign-in") in PAGE_ROUTES


def _other_invitation(services: Services) -> str:
    """A real invitation of the other organisation (a candidate who is not org A's): its token."""
    secret = new_secret(INVITATION_PREFIX)
    with unit_of_work(services.factory) as session:
        other = session.query(Organisation).filter(Organisation.name == "Other").one()
        assessment = Assessment(org_id=other.id, title="Other round", time_box_minutes=60)
        candidate = Candidate(org_id=other.id, name="Bob Other", email="bob@other.test", alias="B")
        session.add_all([assessment, candidate])
        session.flush()
        session.add(
            Invitation(
                org_id=other.id, assessment_id=assessment.id, candidate_id=candidate.id,
                token_hash=hash_secret(secret), expires_at=utcnow() + dt.timedelta(days=1),
            )
        )  # fmt: skip
    return secret


@pytest.mark.parametrize("path", GET_ROUTES)
def test_every_page_keeps_org_a_from_outsiders_anonymous_reviewers_and_other_candidates(
    personas: dict[str, TestClient], services: Services, world: World, path: str
) -> None:
    names_org_a = any(f"{{{name}}}" in path for name in world.ids)
    links = [("anonymous", "pwi_" + secrets.token_urlsafe(32))]
    if "{" in path and not all(p in world.ids for p in re.findall(r"\{([^}:]+)", path)):
        # A path with a link's secret: a candidate of another invitation follows theirs.
        links.append(("other candidate", _other_invitation(services)))
    for persona, token in [*links, ("outsider", links[0][1]), ("reviewer", links[0][1])]:
        url = _fill(path, world, token)
        client = personas.get(persona, personas["anonymous"])
        response = client.get(url)
        text = f"{persona} GET {url}: {response.status_code} {response.text[:500]}"
        assert response.status_code < 500, text
        assert "Traceback" not in response.text, text
        if persona == "reviewer":
            # Blind review: a reviewer never sees a candidate's name or e-mail on a page.
            assert NAME not in response.text and EMAIL not in response.text, text
            continue
        assert not any(secret in response.text for secret in world.secrets), text
        if response.status_code in (302, 303, 307):
            location = response.headers["location"]
            assert location.startswith("/") and not location.startswith("//"), text
            if persona == "anonymous" and "{" not in path:
                assert location.startswith("/sign-in"), text
        reaches_org_a = "{" in path if persona == "outsider" else names_org_a
        if persona in ("outsider", "other candidate") and reaches_org_a:
            assert response.status_code in (404, 410), text
        if response.status_code >= 400:
            assert "text/html" in response.headers["content-type"], text  # an error page


@pytest.mark.parametrize(("method", "path"), UNSAFE_ROUTES)
def test_a_forged_form_post_is_refused_with_a_page(
    personas: dict[str, TestClient], world: World, method: str, path: str
) -> None:
    owner = personas["owner"]
    url = _fill(path, world, "pwi_" + secrets.token_urlsafe(32))
    for sent in ({}, {"csrf_token": "forged"}):
        response = owner.request(method, url, data={"email": "x@example.org", **sent})
        assert response.status_code == 403, response.text
        assert "text/html" in response.headers["content-type"]
        assert "reload the page" in response.text


def test_the_right_token_passes_and_a_token_from_another_browser_does_not(
    personas: dict[str, TestClient], app: FastAPI
) -> None:
    owner = personas["owner"]
    token = _token(owner, "/team")
    response = owner.post(
        "/team/invite", data={"csrf_token": token, "email": "new@acme.test", "role": "reviewer"}
    )
    assert response.status_code == 303, response.text
    stranger = _browser(app)
    stolen_elsewhere = _token(stranger)
    response = owner.post(
        "/team/invite",
        data={"csrf_token": stolen_elsewhere, "email": "b@acme.test", "role": "reviewer"},
    )
    assert response.status_code == 403


def test_a_multipart_form_carries_the_token_first(personas: dict[str, TestClient]) -> None:
    owner = personas["owner"]
    token = _token(owner, "/team")
    files = {
        "csrf_token": (None, token),
        "email": (None, "m@acme.test"),
        "role": (None, "recruiter"),
    }
    assert owner.post("/team/invite", files=files).status_code == 303
    files = {
        "email": (None, "n@acme.test"),
        "csrf_token": (None, token),
        "role": (None, "recruiter"),
    }
    assert owner.post("/team/invite", files=files).status_code == 403


def _sign_in(client: TestClient, email: str, password: str) -> Any:
    token = _token(client)
    return client.post("/sign-in", data={"csrf_token": token, "email": email, "password": password})


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(
    app: FastAPI, services: Services, world: World
) -> None:
    _session_cookie(services, EMAILS["owner"], password=True)
    response = _sign_in(_browser(app), EMAILS["owner"], PASSWORD)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    secure = _browser(app, base_url="https://testserver")
    response = _sign_in(secure, EMAILS["owner"], PASSWORD)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]
    # The store keeps only the secret's hash.
    secret = response.cookies[SESSION_COOKIE]
    with services.factory() as session:
        assert session.get(WebSession, hash_secret(secret)) is not None
        assert session.get(WebSession, secret) is None


def test_sign_out_ends_the_session(app: FastAPI, services: Services, world: World) -> None:
    secret = _session_cookie(services, EMAILS["owner"])
    client = _browser(app, secret)
    assert client.get("/team").status_code == 200
    response = client.post("/sign-out", data={"csrf_token": _token(client, "/team")})
    assert response.status_code == 303
    again = _browser(app, secret)
    assert again.get("/team").status_code == 303


def test_sign_in_is_rate_limited_per_email_then_per_address(
    app: FastAPI, services: Services, world: World
) -> None:
    _session_cookie(services, EMAILS["owner"], password=True)
    services.settings = services.settings.model_copy(
        update={"sign_in_failures": 3, "sign_in_address_failures": 5}
    )
    client = _browser(app)
    for _ in range(3):
        assert _sign_in(client, EMAILS["owner"], "wrong password!").status_code == 400
    limited = _sign_in(client, EMAILS["owner"], PASSWORD)  # even the right one waits
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
    assert "Try again in 15 minutes" in limited.text
    # Other e-mails from the same address: two more failures reach the address's limit.
    for email in ("a@x.test", "b@x.test"):
        assert _sign_in(client, email, "wrong password!").status_code == 400
    assert _sign_in(client, EMAILS["recruiter"], "whatever it is").status_code == 429


def test_a_wrong_password_and_an_unknown_email_read_the_same(
    app: FastAPI, services: Services, world: World
) -> None:
    _session_cookie(services, EMAILS["owner"], password=True)
    client = _browser(app)
    wrong = _sign_in(client, EMAILS["owner"], "wrong password!")
    unknown = _sign_in(client, "nobody@acme.test", "wrong password!")
    assert wrong.status_code == unknown.status_code == 400
    assert "The e-mail or the password is not right." in wrong.text
    assert "The e-mail or the password is not right." in unknown.text


def test_pages_send_a_strict_csp_and_the_api_does_not(app: FastAPI) -> None:
    client = _browser(app)
    headers = client.get("/sign-in").headers
    assert headers["content-security-policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "frame-ancestors 'none'" in CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert BROWSER_COOKIE in headers["set-cookie"] and "HttpOnly" in headers["set-cookie"]
    api = client.get("/api/v1/health").headers
    assert "content-security-policy" not in api


def test_no_page_has_inline_script_or_style(personas: dict[str, TestClient], world: World) -> None:
    owner = personas["owner"]
    for path in GET_ROUTES:
        text = owner.get(_fill(path, world, "pwt_x")).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert " style=" not in text and "<style" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path  # no inline event handlers


def test_errors_outside_the_api_are_pages_and_inside_stay_json(app: FastAPI) -> None:
    client = _browser(app)
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "There is no page at this address." in page.text
    api = client.get("/api/v1/no/such/route")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_the_api_accepts_the_session_and_wants_the_token_for_changes(
    personas: dict[str, TestClient],
) -> None:
    owner = personas["owner"]
    assert owner.get("/api/v1/assessments").status_code == 200
    body = {"title": "By session"}
    refused = owner.post("/api/v1/assessments", json=body)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["error"]["message"]
    token = _token(owner, "/team")
    created = owner.post("/api/v1/assessments", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text


def test_a_reviewer_gets_a_403_page_and_anonymous_is_sent_to_sign_in(
    personas: dict[str, TestClient],
) -> None:
    response = personas["reviewer"].get("/team")
    assert response.status_code == 403
    assert "does not allow this page" in response.text
    response = personas["anonymous"].get("/team?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/team%3Fx%3D1"


def test_sign_in_goes_back_only_to_this_site(
    app: FastAPI, services: Services, world: World
) -> None:
    _session_cookie(services, EMAILS["owner"], password=True)
    client = _browser(app)
    token = _token(client)
    for target, expected in (
        ("/audit", "/audit"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
    ):
        response = client.post(
            "/sign-in",
            data={
                "csrf_token": token,
                "email": EMAILS["owner"],
                "password": PASSWORD,
                "next": target,
            },
        )
        assert response.headers["location"] == expected
        client.cookies.clear()
        token = _token(client)


def test_the_first_run_page_is_closed_once_an_organisation_exists(
    app: FastAPI, services: Services, world: World
) -> None:
    client = _browser(app)
    assert client.get("/first-run").headers["location"] == "/sign-in"
    token = _token(client)
    data = {"csrf_token": token, "org_name": "Mine", "email": "me@x.test", "password": PASSWORD}
    assert client.post("/first-run", data=data).headers["location"] == "/sign-in"
    with services.factory() as session:
        assert session.query(Organisation).filter(Organisation.name == "Mine").count() == 0


def test_an_expired_session_signs_nobody_in(app: FastAPI, services: Services, world: World) -> None:
    secret = _session_cookie(services, EMAILS["owner"])
    client = _browser(app, secret)
    assert client.get("/team").status_code == 200
    with unit_of_work(services.factory) as session:
        row = session.get(WebSession, hash_secret(secret))
        assert row is not None
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
    assert client.get("/team").status_code == 303
    assert client.get("/api/v1/assessments").status_code == 401
