"""Account pages in a real browser: first run, sign-in, sign-out, teammates, the outbox."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pages_support import (
    PASSWORD,
    LiveServer,
    PageLog,
    Seeded,
    SmtpServer,
    check_log,
    first_link,
    mail_text,
    open_page,
)
from playwright.sync_api import Browser, Page, expect

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
    # The first link of the nav is where signing in leads: the assessments, for an owner.
    expect(page.get_by_role("heading", name="Assessments", exact=True)).to_be_visible()
    axe(page)
    shot(page, "account-signed-in")


def test_an_owner_invites_a_teammate_who_joins_by_the_mailed_link(
    page: Page,
    acme: Seeded,
    smtp_server: SmtpServer,
    sign_in: Callable[..., None],
    axe: Axe,
    shot: Shot,
) -> None:
    sign_in(page, acme.emails["owner"])
    page.goto("/team")
    page.get_by_label("E-mail").fill("grace@acme.test")
    page.get_by_label("Role").select_option("reviewer")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("grace@acme.test")
    expect(page.get_by_role("cell", name="grace@acme.test")).to_be_visible()
    axe(page)
    shot(page, "account-team")
    mail = smtp_server.wait_for("grace@acme.test", "Join Acme")
    link = first_link(mail_text(mail))
    assert link.startswith(f"{page.url.split('/team')[0]}/join/pwt_")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url("/sign-in")

    page.goto(link)
    expect(page.get_by_role("heading", name="Join your team")).to_be_visible()
    expect(page.get_by_text("grace@acme.test")).to_be_visible()
    axe(page)
    shot(page, "account-join")
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("Grace Hopper · Acme")).to_be_visible()
    # The link worked once.
    page.goto(link)
    expect(page.get_by_role("heading", name="This link is no longer valid")).to_be_visible()
    axe(page)
    shot(page, "account-join-used")


def test_failed_sign_ins_get_a_page_saying_when_to_retry(
    page: Page, acme: Seeded, axe: Axe, shot: Shot
) -> None:
    page.goto("/sign-in")
    for attempt in range(6):
        page.get_by_label("E-mail").fill("recruiter@acme.test")
        page.get_by_label("Password").fill(f"wrong password {attempt}")
        page.get_by_role("button", name="Sign in").click()
        if attempt < 5:
            expect(page.get_by_role("alert")).to_have_text(
                "The e-mail or the password is not right."
            )
    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    expect(page.get_by_text("Try again in 15 minutes")).to_be_visible()
    axe(page)
    shot(page, "account-rate-limited")


def test_the_audit_log_lists_who_did_what_and_filters_by_kind(
    page: Page, acme: Seeded, sign_in: Callable[..., None], axe: Axe, shot: Shot
) -> None:
    sign_in(page, acme.emails["owner"])
    page.goto("/audit")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    rows = page.locator("table.audit tbody tr")
    expect(rows.first).to_be_visible()
    page.get_by_label("Kind of object").select_option("teammate")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url("/audit?type=teammate")
    for text in rows.all_inner_texts():
        assert "teammate" in text
    axe(page)
    shot(page, "account-audit")


def test_without_smtp_mail_waits_in_the_outbox_and_the_first_run_makes_the_owner(
    browser: Browser,
    live_server_factory: Callable[..., LiveServer],
    sign_in: Callable[..., None],
    axe: Axe,
    shot: Shot,
) -> None:
    server = live_server_factory(worker_cores=0)
    log = PageLog()
    context, page = open_page(browser, server, log)
    page.goto("/")
    expect(page).to_have_url(f"{server.url}/first-run")
    axe(page)
    shot(page, "account-first-run")
    page.get_by_label("Organisation").fill("Initech")
    page.get_by_label("Your name").fill("Peter Gibbons")
    page.get_by_label("Your e-mail").fill("peter@initech.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create the organisation").click()
    expect(page.get_by_text("Peter Gibbons · Initech")).to_be_visible()

    page.goto("/team")
    page.get_by_label("E-mail").fill("milton@initech.test")
    page.get_by_role("button", name="Send the invitation").click()
    page.goto("/outbox")
    expect(page.get_by_role("heading", name="Join Initech on Proofwork")).to_be_visible()
    expect(page.get_by_text("waiting in the outbox")).to_be_visible()
    link = page.get_by_label("Link").input_value()
    assert link.startswith(f"{server.url}/join/pwt_")
    axe(page)
    shot(page, "account-outbox")
    context.close()
    check_log(log)


def test_sign_in_works_with_the_keyboard_alone(page: Page, acme: Seeded) -> None:
    page.goto("/sign-in")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the content")).to_be_focused()
    page.get_by_label("E-mail").focus()
    page.keyboard.type(acme.emails["reviewer"])
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_text("reviewer@acme.test · Acme")).to_be_visible()
