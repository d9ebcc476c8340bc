"""The audit's reports: HTML in a real browser, SARIF against the SARIF 2.1.0 schema, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo
from jsonschema import Draft4Validator
from playwright.sync_api import Browser, Request, Route, sync_playwright
from test_known_history import build
from typer.testing import CliRunner

from proofwork.audit.run import AuditReport, AuditRequest, audit
from proofwork.cli import app
from proofwork.config import Settings
from proofwork.reports.audit_html import write_audit_html
from proofwork.reports.sarif import sarif_log

SARIF_SCHEMA = Path(__file__).parent.parent / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json"
CHROMIUM = Path("/usr/bin/chromium")
SMELLY = """import requests, time, logging

def fetch(ids, db):
    out = []
    for i in ids:
        out.append(db.execute("select * from t where id = ?", (i,)).fetchall())
    try:
        return requests.get("http://upstream/x"), out
    except Exception:
        pass

@app.get("/slow")
def slow(request):
    time.sleep(1)
    print("slept")
"""


@pytest.fixture(scope="module")
def known_report(tmp_path_factory: pytest.TempPathFactory) -> AuditReport:
    """The hand-worked history, plus a module with a smell of every kind, audited."""
    root = tmp_path_factory.mktemp("reports")
    repo = GitRepo(root / "repo")
    build(repo)
    repo.commit("Bob <bob@example.com>", 401, {"app/smelly.py": SMELLY})
    return audit(AuditRequest(repo.root, Settings(home=root / "home"), run_probes=False))


def test_code_findings_name_their_place(known_report: AuditReport) -> None:
    found = {(f.rule, f.line) for f in known_report.findings if f.path == "app/smelly.py"}
    assert found == {
        ("audit.query_in_loop", 6),
        ("audit.unbounded_read", 6),
        ("audit.http_without_timeout", 8),
        ("audit.swallowed_error", 9),
        ("audit.sleep_in_request", 14),
        ("audit.print_diagnostic", 15),
    }
    rules = [r["title"] for r in known_report.to_json()["invest"] if r["area"] == "traffic"]
    assert "1 x sleep in request" in rules


def test_sarif_log_is_valid_sarif_2_1_0(known_report: AuditReport) -> None:
    log = sarif_log(known_report.findings, version="test")
    schema = json.loads(SARIF_SCHEMA.read_text())
    errors = sorted(Draft4Validator(schema).iter_errors(log), key=str)
    assert errors == []
    results = log["runs"][0]["results"]
    assert len(results) == len(known_report.findings)
    sleep = next(r for r in results if r["ruleId"] == "audit.sleep_in_request")
    assert sleep["level"] == "error"
    assert sleep["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "app/smelly.py", "uriBaseId": "SRCROOT"},
        "region": {"startLine": 14},
    }


def test_sarif_keeps_odd_paths_as_valid_uris() -> None:
    from proofwork.evidence import Finding, Severity

    odd = Finding("audit.x", Severity.LOW, "m", "dir with space/caf\udce9.py", 3, probe="audit")
    log = sarif_log([odd], version="test")
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"] == "dir%20with%20space/caf%E9.py"
    assert list(Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).iter_errors(log)) == []


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


@pytest.mark.browser
def test_html_audit_renders_its_charts_offline(
    known_report: AuditReport, browser: Browser, tmp_path: Path
) -> None:
    page_path = tmp_path / "audit.html"
    write_audit_html(known_report.to_json(), page_path)
    url = page_path.as_uri()
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})

    def guard(route: Route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    def seen(request: Request) -> None:
        if request.url != url:
            requests.append(request.url)

    page.route("**/*", guard)
    page.on("request", seen)
    page.goto(url)
    assert requests == []
    assert page.locator("#maintainability svg circle").count() == 6  # one per Python file
    assert page.locator("#knowledge svg rect").count() == 2  # app/ and billing/
    assert page.locator("#maintainability svg rect").count() == 1  # the one coupled pair
    invest = page.locator("#invest tbody tr").first.inner_text()
    assert known_report.to_json()["invest"][0]["title"] in invest
    shot = tmp_path / "audit.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    page.close()


def test_cli_audit_writes_json_html_and_sarif(known_report: AuditReport, tmp_path: Path) -> None:
    source = Path(known_report.to_json()["repository"]["source"])
    result = CliRunner().invoke(
        app,
        ["audit", str(source), "--no-tests", "--out-dir", str(tmp_path), "--since", "18m"],
        env={"PROOFWORK_HOME": str(tmp_path / "home")},
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.suffix for p in tmp_path.iterdir() if p.is_file())
    assert written == [".html", ".json", ".sarif"]
    document: dict[str, Any] = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert document["repository"]["window"]["days"] == 540
    assert "Where to invest first" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "two years"], "is not a window"),
        (["--since", "0y"], "is not a window"),
    ],
)
def test_cli_audit_refuses_bad_options_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("Alice <a@example.com>", 0, {"a.py": "x = 1\n"})
    result = CliRunner().invoke(
        app, ["audit", str(repo.root), "--no-tests", *args], env={"PROOFWORK_HOME": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_audit_of_a_missing_path_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["audit", str(tmp_path / "nope")], env={"PROOFWORK_HOME": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "does not exist" in result.output
