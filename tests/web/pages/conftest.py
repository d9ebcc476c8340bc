"""Page fixtures: a real server on loopback, a real SMTP receiver, Debian's chromium, axe-core.

`live_server` is `proofwork serve` in a thread (uvicorn, embedded workers) on a fresh SQLite
store, mailing through `smtp_server` (aiosmtpd on loopback); `live_server.seed()` makes an
organisation with an owner, a recruiter and a reviewer who have passwords. `page` is a fresh
chromium page on it that fails the test on console errors, 5xx answers or requests elsewhere.
`sign_in(page, email)`, `axe(page)` and `shot(page, name)` are in pages_support too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from pages_support import (
    LiveServer,
    PageLog,
    SmtpServer,
    _free_port,
    _Inbox,
    axe,
    check_log,
    open_page,
    shot,
    sign_in,
    start_server,
)
from playwright.sync_api import Browser, Page, sync_playwright
from sandboxing import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd on loopback, collecting the messages it receives."""
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer("127.0.0.1", port, inbox)
    controller.stop()


@pytest.fixture(scope="module")
def live_server_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., LiveServer]]:
    """Starts live servers with settings overrides (`start(worker_cores=2, **settings)`);
    stops them at the end of the module."""
    running: list[Iterator[LiveServer]] = []

    def start(worker_cores: int = 2, **overrides: object) -> LiveServer:
        server = start_server(tmp_path_factory.mktemp("store"), worker_cores, **overrides)
        running.append(server)
        return next(server)

    yield start
    for server in reversed(running):
        next(server, None)


@pytest.fixture(scope="module")
def live_server(
    live_server_factory: Callable[..., LiveServer], smtp_server: SmtpServer
) -> LiveServer:
    """The module's server, mailing through `smtp_server`."""
    return live_server_factory(
        smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_starttls=False
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium through Playwright (one per module)."""
    if not CHROMIUM.exists():
        pytest.fail("chromium is missing: run `make setup` (scripts/system-deps.sh installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh page on the live server; the test fails if it logged an error, got a 5xx or
    reached outside the server."""
    log = PageLog()
    context, opened = open_page(browser, live_server, log)
    yield opened
    context.close()
    check_log(log)


@pytest.fixture(name="sign_in")
def sign_in_fixture() -> Callable[..., None]:
    """`sign_in(page, email, password=PASSWORD)` through the sign-in form."""
    return sign_in


@pytest.fixture(name="axe")
def axe_fixture() -> Callable[[Page], list[dict[str, object]]]:
    """`axe(page)`: no serious or critical violations, or the test fails listing them."""
    return axe


@pytest.fixture(name="shot")
def shot_fixture() -> Callable[[Page, str], Path]:
    """`shot(page, name)`: saves reports/screenshots/<name>.png and returns its path."""
    return shot
