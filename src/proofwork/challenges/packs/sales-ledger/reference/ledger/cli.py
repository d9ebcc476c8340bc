"""`python -m ledger --input DIR --output DIR --work DIR --date YYYY-MM-DD`.

Exit codes: 0 the run finished (quarantined rows included); 2 the command was wrong (a bad
date, a missing input folder); 1 anything else went wrong (logged, outputs left as they were).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from ledger.logs import Log
from ledger.pipeline import run
from ledger.rates import RatesError

USAGE, FAILED = 2, 1


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(prog="ledger", description=__doc__.splitlines()[0])
    parse.add_argument("--input", required=True, type=Path, help="folder of channel exports")
    parse.add_argument("--output", required=True, type=Path, help="folder for the outputs")
    parse.add_argument("--work", type=Path, help="scratch folder (default: OUTPUT/../work)")
    parse.add_argument("--date", required=True, help="the day being closed, YYYY-MM-DD")
    return parse


def main(argv: list[str], log: Log | None = None) -> int:
    """Run the ledger; the process exit code."""
    log = log or Log()
    args = parser().parse_args(argv)
    try:
        until = date.fromisoformat(args.date)
    except ValueError:
        log.event("bad_arguments", level="error", message=f"--date {args.date!r} is not YYYY-MM-DD")
        return USAGE
    if not args.input.is_dir():
        log.event("bad_arguments", level="error", message=f"--input {args.input} is not a folder")
        return USAGE
    work = args.work or args.output.parent / "work"
    try:
        run(args.input, args.output, work, until, log)
    except (RatesError, OSError, UnicodeDecodeError) as exc:
        log.event("run_failed", level="error", message=f"{type(exc).__name__}: {exc}")
        return FAILED
    return 0
