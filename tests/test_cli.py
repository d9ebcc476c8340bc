"""The `proofwork` command as a user meets it: exit codes, one-line reasons, reports written."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from proofwork.cli import app
from proofwork.reports.json_report import validate

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def test_grade_writes_reports_that_validate(cli: CliRunner, workdir: Path) -> None:
    project = workdir / "minilib"
    shutil.copytree(FIXTURES / "minilib", project)
    out_json, out_html = workdir / "r.json", workdir / "r.html"
    result = cli.invoke(
        app,
        [
            "grade",
            str(project),
            "--json",
            str(out_json),
            "--html",
            str(out_html),
            "--probe",
            "tests",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out_json.read_text())
    validate(document)
    # one wrong-on-purpose assertion and one strict xfail that unexpectedly passes
    assert document["metrics"]["tests.failed"] == 2
    assert "<html" in out_html.read_text().lower()
    assert str(out_json) in result.output


def test_grade_names_default_report_paths(cli: CliRunner, workdir: Path) -> None:
    project = workdir / "tiny"
    project.mkdir()
    (project / "test_x.py").write_text("def test_x():\n    assert True\n")
    result = cli.invoke(
        app, ["grade", str(project), "--out-dir", str(workdir / "out"), "--probe", "tests"]
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.suffix for p in (workdir / "out").iterdir())
    assert written == [".html", ".json"]


def test_a_missing_submission_exits_non_zero_with_one_line(cli: CliRunner, workdir: Path) -> None:
    result = cli.invoke(app, ["grade", str(workdir / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_a_refused_archive_exits_non_zero_and_says_why(cli: CliRunner, workdir: Path) -> None:
    archive = workdir / "slip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../escape.py", "x = 1\n")
    result = cli.invoke(app, ["grade", str(archive), "--out-dir", str(workdir / "out")])
    assert result.exit_code == 2
    assert "refused" in result.output
    assert not (workdir / "out").exists()


def test_a_bad_setting_fails_at_start(cli: CliRunner, workdir: Path) -> None:
    result = cli.invoke(app, ["grade", str(workdir)], env={"PROOFWORK_MEMORY_MB": "lots"})
    assert result.exit_code == 2
    assert "PROOFWORK_MEMORY_MB" in result.output


def test_an_unknown_probe_is_named(cli: CliRunner, workdir: Path) -> None:
    (workdir / "a.py").write_text("x = 1\n")
    result = cli.invoke(app, ["grade", str(workdir), "--probe", "telepathy"])
    assert result.exit_code == 2
    assert "telepathy" in result.output


def test_unsafe_mode_warns_and_says_so_in_the_report(cli: CliRunner, workdir: Path) -> None:
    project = workdir / "tiny"
    project.mkdir()
    (project / "test_x.py").write_text("def test_x():\n    assert True\n")
    out_json = workdir / "r.json"
    result = cli.invoke(
        app,
        ["grade", str(project), "--unsafe-no-sandbox", "--probe", "tests", "--json", str(out_json),
         "--html", str(workdir / "r.html")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.output
    assert json.loads(out_json.read_text())["sandbox"]["backend"] == "none"


def test_default_report_names_drop_archive_suffixes_and_keep_the_sha(workdir: Path) -> None:
    from proofwork.cli import default_report_paths

    json_path, html_path = default_report_paths(workdir / "toolz-1.2.0.tar.gz", "ab" * 32, workdir)
    assert json_path.name == "toolz-1.2.0-abababababab.json"
    assert html_path.name == "toolz-1.2.0-abababababab.html"
