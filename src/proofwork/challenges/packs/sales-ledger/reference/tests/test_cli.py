import io
import json
import runpy
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.cli import main
from ledger.logs import Log
from tests.conftest import Run


def test_a_bad_date_exits_2_with_a_message(tmp_path: Path) -> None:
    log = io.StringIO()
    assert main(["--input", str(tmp_path), "--output", str(tmp_path / "out"), "--date", "2026-13-45"], Log(log)) == 2
    assert json.loads(log.getvalue())["event"] == "bad_arguments"


def test_a_missing_input_folder_exits_2(tmp_path: Path) -> None:
    log = io.StringIO()
    assert main(["--input", str(tmp_path / "absent"), "--output", str(tmp_path), "--date", "2026-06-01"], Log(log)) == 2
    assert "is not a folder" in log.getvalue()


def test_a_broken_rates_file_exits_1_and_says_why(ledger: Callable[[], Run]) -> None:
    run = ledger()
    (run.input / "rates" / "2026-06-01.csv").write_text("currency,rate\nGBP,1\n")
    assert run().exit_code == 1
    assert run.events()[-1]["event"] == "run_failed"


def test_the_work_folder_can_be_named(tmp_path: Path, ledger: Callable[[], Run]) -> None:
    run = ledger()
    argv = [
        "--input",
        str(run.input),
        "--output",
        str(tmp_path / "o"),
        "--work",
        str(tmp_path / "w"),
        "--date",
        "2026-06-01",
    ]
    assert main(argv, Log(io.StringIO())) == 0
    assert (tmp_path / "w" / "ledger.sqlite").exists()


def test_python_dash_m_runs_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        sys, "argv", ["ledger", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "--date", "bad"]
    )
    with pytest.raises(SystemExit) as stopped:
        runpy.run_module("ledger", run_name="__main__")
    assert stopped.value.code == 2
