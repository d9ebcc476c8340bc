"""Blind review: what someone scoring a run may see of it, before and after their own scorecard.

Reviewers score blind: until they submit their scorecard on a run, the machine signals' levels
and the other reviewers' scores stay hidden from them, so neither anchors their judgement. A
candidate's name and e-mail never reach a reviewer (issue 11's API rule): wherever the
candidate wrote them into what a reviewer reads (material, the diff, commit authors), they are
replaced by the alias. Owners and recruiters oversee the scoring and see everything.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.signals import AWAITING
from proofwork.store.models import Candidate, Role, Scorecard
from proofwork.web.auth import Principal

# A name's parts shorter than this ("Li", "Al") would blank out ordinary words.
NAME_PART_MIN = 3


def scores_blind(principal: Principal) -> bool:
    """Whether the caller scores blind (reviewers), rather than overseeing the scoring."""
    return principal.role == Role.REVIEWER


def submitted_run_ids(session: Session, user_id: str | None, run_ids: Iterable[str]) -> set[str]:
    """Those of the runs on which the user has submitted their scorecard."""
    wanted = list(run_ids)
    if user_id is None or not wanted:
        return set()
    query = select(Scorecard.run_id).where(
        Scorecard.reviewer_id == user_id,
        Scorecard.submitted_at.is_not(None),
        Scorecard.run_id.in_(wanted),
    )
    return set(session.scalars(query))


def sees_scores(session: Session, principal: Principal, run_id: str) -> bool:
    """Whether the caller may see the run's machine levels and others' scorecards."""
    if not scores_blind(principal):
        return True
    return run_id in submitted_run_ids(session, principal.user_id, [run_id])


def human_signals_only(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """A run summary without the machine-scored signals (their levels would anchor a score)."""
    if summary is None:
        return None
    signals = [s for s in summary.get("signals") or [] if s.get("status") == AWAITING]
    return {**summary, "signals": signals}


@dataclass(frozen=True)
class Redactor:
    """Replaces a candidate's name and e-mail in text a reviewer reads by their alias."""

    alias: str
    pattern: re.Pattern[str] | None

    def __call__(self, text: str) -> str:
        """The text with every mention of the candidate replaced by the alias."""
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(self.alias, text)

    def data(self, raw: bytes) -> bytes:
        """The same for a UTF-8 document (a JSON or HTML report)."""
        if self.pattern is None:
            return raw
        return self(raw.decode("utf-8", errors="replace")).encode()


def redactor(candidate: Candidate | None) -> Redactor:
    """What hides this candidate: their e-mail, its local part, their full name (also joined by
    `-`, `_`, `.` or nothing), and each capitalised part of it as a word (how commit authors and
    sign-offs name people)."""
    if candidate is None:
        return Redactor("", None)
    email, name = candidate.email.strip(), " ".join(candidate.name.split())
    parts = name.split()
    # Most specific first: at one place in the text the first alternative that matches wins.
    whole = [re.escape(email)] if email else []
    # The full name also as people join it in handles and file names: ada-lovelace, AdaLovelace.
    whole += [r"[\s._-]*".join(re.escape(part) for part in parts)] if parts else []
    # HTML reports escape what they show: "O'Brien" is written "O&#x27;Brien" there.
    whole += [re.escape(html.escape(t)) for t in (email, name) if t and html.escape(t) != t]
    local = email.split("@", 1)[0]
    if len(local) >= NAME_PART_MIN:
        whole.append(rf"(?<![\w.]){re.escape(local)}(?![\w@])")
    words = sorted({p for p in parts if len(p) >= NAME_PART_MIN}, key=len, reverse=True)
    pieces = [f"(?i:{alternative})" for alternative in whole]
    pieces += [rf"\b(?:{re.escape(w)}|{re.escape(w.upper())})\b" for w in words if w[:1].isupper()]
    if not pieces:
        return Redactor(candidate.alias, None)
    return Redactor(candidate.alias, re.compile("|".join(pieces)))
