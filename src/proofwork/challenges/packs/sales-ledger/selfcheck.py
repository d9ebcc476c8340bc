"""Self-check for the sales-ledger challenge: `python selfcheck.py` in your repository.

It runs your job the way the grader does (the `[job] run` command of proofwork.toml, with
INPUT_DIR, OUTPUT_DIR, WORK_DIR and DATE set) on the public sample in `sample/input/`,
compares what it wrote with `sample/expected/`, runs it again to see that nothing changes,
and then runs your own tests. The grader's hidden checks use other data and go much further;
passing these is a start, not a grade. Standard library only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path.cwd()  # the repository being checked: run it from there
SAMPLE = ROOT / "sample"
RUN_S = 120


def command() -> str:
    config = ROOT / "proofwork.toml"
    if not config.is_file():
        sys.exit("proofwork.toml is missing: it must say how to run the job ([job] run = ...)")
    run = tomllib.loads(config.read_text()).get("job", {}).get("run")
    if not isinstance(run, str) or not run.strip():
        sys.exit('proofwork.toml has no [job] run command, e.g. run = "python -m ledger ..."')
    return run


def run_job(run: str, scratch: Path, date: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "INPUT_DIR": str(SAMPLE / "input"),
        "OUTPUT_DIR": str(scratch / "output"),
        "WORK_DIR": str(scratch / "work"),
        "DATE": date,
    }
    return subprocess.run(
        ["/bin/sh", "-c", run], cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_S
    )


def compare(output: Path) -> list[str]:
    problems = []
    for name in ("revenue.csv", "payouts.csv"):
        wanted = (SAMPLE / "expected" / name).read_text().splitlines()
        got = (output / name).read_text().splitlines() if (output / name).is_file() else None
        if got is None:
            problems.append(f"{name}: not written")
        elif got != wanted:
            differ = sorted(set(got) ^ set(wanted))[:5]
            problems.append(f"{name}: differs from sample/expected/{name}, e.g. {differ}")
    expected = json.loads((SAMPLE / "expected" / "summary.json").read_text())["files"]
    try:
        files = json.loads((output / "summary.json").read_text()).get("files", {})
    except (OSError, ValueError) as exc:
        return [*problems, f"summary.json: cannot be read ({exc})"]
    for name, counts in expected.items():
        if files.get(name) != counts:
            problems.append(f"summary.json: {name} has {files.get(name)}, expected {counts}")
    return problems


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*")) if p.is_file()}


def main() -> int:
    run = command()
    date = json.loads((SAMPLE / "expected" / "summary.json").read_text())["date"]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        first = run_job(run, scratch, date)
        print(f"run 1: exit {first.returncode}")
        if first.returncode != 0:
            print(first.stderr[-3000:])
            return 1
        problems = compare(scratch / "output")
        written = outputs(scratch / "output")
        second = run_job(run, scratch, date)
        if second.returncode != 0 or outputs(scratch / "output") != written:
            problems.append("a second run of the same day changed the outputs (R10)")
    for problem in problems:
        print(f"FAIL {problem}")
    if not problems:
        print("PASS the sample's outputs are as expected, and a re-run changes nothing")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=ROOT, check=False)
    return 1 if problems or tests.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
