"""The HTML report printed to PDF by Debian's chromium, headless (the browser the tests use).

The report is self-contained and makes no request (its own CSP says `default-src 'none'`), so
chromium reads it from a private temporary folder, with a throwaway profile, no network
services and a deadline; sections marked for print open themselves on `beforeprint`."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = 90.0
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root chromium refuses its own sandbox; the page is our own report
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pdf-header-footer",
    "--run-all-compositor-stages-before-draw",
)


class PdfError(Exception):
    """Chromium is missing, or failed to print the page."""


def chromium() -> str:
    """The chromium binary used for printing."""
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        raise PdfError("chromium is not installed: run scripts/system-deps.sh (Debian: chromium)")
    return found


def html_to_pdf(html: bytes, *, timeout_s: float = TIMEOUT_S) -> bytes:
    """The page printed to PDF (A4 by chromium's default, backgrounds kept by the CSS)."""
    with tempfile.TemporaryDirectory(prefix="pw-pdf-") as scratch:
        folder = Path(scratch)
        page, out = folder / "report.html", folder / "report.pdf"
        page.write_bytes(html)
        argv = [
            chromium(),
            *FLAGS,
            f"--user-data-dir={folder / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(
                argv, capture_output=True, timeout=timeout_s, check=False, cwd=folder
            )
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"chromium did not print the report within {timeout_s:g} s") from exc
        if not out.is_file() or out.stat().st_size == 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise PdfError(f"chromium printed nothing (exit {done.returncode}): {detail}")
        return out.read_bytes()
