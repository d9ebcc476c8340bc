"""What the page tests share: a live server, an SMTP receiver, chromium helpers, axe-core.

Fixtures built on these live in conftest.py; tests import the helpers from here
(`from pages_support import …`), never from conftest.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Response, Route

from proofwork.config import Settings, load_settings
from proofwork.store.database import make_engine, unit_of_work, upgrade
from proofwork.store.models import Role
from proofwork.web import admin
from proofwork.web.app import Services, build_services, create_app
from proofwork.web.pages.session import hash_password

ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "src/proofwork/web/static/vendor/axe.min.js"
SCREENSHOTS = ROOT / "reports/screenshots"
PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- mail -------------------------------------------------------------------------------


class _Inbox:
    """aiosmtpd's handler: keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.original_content or b""))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A real SMTP server on loopback; `wait_for` a mail to someone."""

    host: str
    port: int
    inbox: _Inbox

    @property
    def messages(self) -> list[Message]:
        return list(self.inbox.messages)

    def wait_for(self, to: str, subject: str = "", timeout_s: float = 20) -> Message:
        """The first mail to `to` (whose subject contains `subject`), waiting for it."""
        deadline = time.monotonic() + timeout_s
        with self.inbox.arrived:
            while True:
                for message in self.inbox.messages:
                    if message["To"] == to and subject in str(message["Subject"]):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m["To"], m["Subject"]) for m in self.inbox.messages]
                    raise AssertionError(f"no mail to {to} about {subject!r}; got {seen}")
                self.inbox.arrived.wait(left)


def mail_text(message: Message) -> str:
    """A plain-text mail's body."""
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def first_link(text: str) -> str:
    """The first http(s) link in a text."""
    found = re.search(r"https?://\S+", text)
    assert found, f"no link in {text!r}"
    return found.group(0)


# --- the server -------------------------------------------------------------------------


@dataclass
class Seeded:
    """An organisation and its members' e-mails by role (all with PASSWORD)."""

    org_id: str
    org_name: str
    emails: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)


@dataclass
class LiveServer:
    """A running `proofwork serve` equivalent: its URL and its services (store, settings)."""

    url: str
    services: Services

    def seed(self, name: str = "Acme", password: str = PASSWORD) -> Seeded:
        """An organisation with an owner, a recruiter and a reviewer, each with `password`."""
        slug = name.lower().replace(" ", "-")
        with unit_of_work(self.services.factory) as session:
            org = admin.create_org(session=session, name=name)
            seeded = Seeded(org.id, org.name)
            for role in (Role.OWNER, Role.RECRUITER, Role.REVIEWER):
                email = f"{role}@{slug}.test"
                self.add_user(session, org, email, role, password)
                seeded.emails[str(role)] = email
                seeded.user_ids[str(role)] = admin.find_user(session=session, email=email).id
        return seeded

    @staticmethod
    def add_user(
        session: object, org: object, email: str, role: Role, password: str = PASSWORD
    ) -> None:
        """A member with a password (inside the caller's unit of work)."""
        user = admin.create_user(session=session, org=org, email=email, role=role)  # type: ignore[arg-type]
        user.password_hash = hash_password(password)

    def client(self) -> httpx.Client:
        """An HTTP client for this server (no redirects followed)."""
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)


def _serve(settings: Settings, worker_cores: int) -> Iterator[LiveServer]:
    engine = make_engine(settings.store_url)
    upgrade(engine)
    engine.dispose()
    services = build_services(settings, worker_cores=worker_cores)
    port = _free_port()
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=port, log_level="warning", ws="none",
        lifespan="on",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="live-server")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", services)
    finally:
        server.should_exit = True
        thread.join(timeout=60)


# --- the browser ------------------------------------------------------------------------


@dataclass
class PageLog:
    """What a page did wrong: console errors (CSP violations among them) and requests elsewhere."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


SERIOUS = ("serious", "critical")


def axe(page: Page) -> list[dict[str, object]]:
    """Runs the vendored axe-core on the page; fails on serious or critical violations."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (it vendors axe-core from npm)")
    # Injected through the DevTools protocol, so the page's CSP (script-src 'self') allows it.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    violations = [v for v in result["violations"] if v.get("impact") in SERIOUS]
    listed = json.dumps(
        [
            {"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in violations
        ],
        indent=1,
    )  # fmt: skip
    assert not violations, f"axe found serious accessibility problems on {page.url}:\n{listed}"
    return list(result["violations"])


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in form; fails unless it worked."""
    page.goto("/sign-in")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/sign-in" not in page.url, f"sign-in as {email} failed: {page.url}"


def shot(page: Page, name: str) -> Path:
    """A full-page PNG under reports/screenshots/ (look at it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def start_server(folder: Path, worker_cores: int = 2, **overrides: object) -> Iterator[LiveServer]:
    """A live server on a fresh SQLite store in `folder` (a generator: next() starts it, the
    second next() stops it)."""
    settings = load_settings(
        database_url=f"sqlite:///{folder / 'proofwork.db'}", blobs="database", install=False,
        **overrides,
    )  # fmt: skip
    return _serve(settings, worker_cores)


def open_page(browser: Browser, server: LiveServer, log: PageLog) -> tuple[BrowserContext, Page]:
    """A fresh browser context and page on the server: requests elsewhere are refused and
    logged, and so are console errors (a CSP violation, a failed script) and 5xx answers."""
    context = browser.new_context(base_url=server.url, accept_downloads=True)
    opened = context.new_page()

    def guard(route: Route) -> None:
        url = route.request.url
        if url.startswith(server.url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            log.outside.append(url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            log.errors.append(message.text)

    def on_response(response: Response) -> None:
        if response.status >= 500:
            log.failures.append(f"{response.status} {response.url}")

    context.route("**/*", guard)
    opened.on("console", on_console)
    opened.on("pageerror", lambda error: log.errors.append(str(error)))
    opened.on("response", on_response)
    return context, opened


def check_log(log: PageLog) -> None:
    """Fails on what the page did wrong."""
    # A 4xx page logs "Failed to load resource" for itself: that is its point, not a fault.
    faults = [e for e in log.errors if not e.startswith("Failed to load resource")]
    assert not faults, f"the page logged errors: {faults}"
    assert not log.outside, f"the page reached outside the server: {log.outside}"
    assert not log.failures, f"the server failed: {log.failures}"
