"""Run every benchmark in this folder (what `make bench` calls); exit non-zero if any missed.

A benchmark is any `*.py` file here other than this one; each is a script that prints its
figures against a named peer and exits 0 when it meets its targets.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    """The benchmark scripts, by name."""
    return sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name)


def main() -> int:
    """Run each benchmark in its own process; 0 only when all of them pass."""
    failed = []
    for script in benchmarks():
        print(f"== {script.stem} ==", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"\nmissed their targets or failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
