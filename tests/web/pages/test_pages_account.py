"""Account pages in a real browser: first run, sign-in, sign-out, teammates, the outbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pages_support import LiveServer, Seeded
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

Axe = Callable[[Page], object]
Shot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def acme(live_server: LiveServer) -> Seeded:
    return live_server.seed("Acme")


def test_sign_in_shows_the_members_pages_and_passes_axe(
    page: Page, acme: Seeded, sign_in: Callable[..., None], axe: Axe, shot: Shot
) -> None:
    page.goto("/")
    expect(page).to_have_url("/sign-in")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    axe(page)
    shot(page, "account-sign-in")
    sign_in(page, acme.emails["owner"])
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_text("owner@acme.test · Acme")).to_be_visible()
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    axe(page)
    shot(page, "account-signed-in")
