"""`proofwork similarity`: take in every submission safely, fingerprint, compare."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from proofwork import intake
from proofwork.challenges import Pack
from proofwork.config import Settings
from proofwork.engine import intake_caps
from proofwork.similarity.compare import DEFAULT_THRESHOLD, Submission, compare, load
from proofwork.similarity.fingerprints import fingerprint
from proofwork.similarity.report import SimilarityReport

ARCHIVE = re.compile(r"\.(zip|tar\.gz|tgz|tar|bundle)$", re.IGNORECASE)


def names(paths: list[Path]) -> list[str]:
    """Short unique names: the folder or archive name, numbered when two collide."""
    found: list[str] = []
    for path in paths:
        base = ARCHIVE.sub("", path.resolve().name) or "submission"
        name, n = base, 2
        while name in found:
            name, n = f"{base}-{n}", n + 1
        found.append(name)
    return found


def ingested(path: Path, name: str, scratch: Path, settings: Settings) -> Submission:
    """A submission copied or unpacked with the grader's caps and refusals, fingerprinted."""
    destination = scratch / f"{len(list(scratch.iterdir()))}"
    intake.ingest(path, destination, intake_caps(settings))
    return load(name, destination)


def pack_files(pack: Pack) -> Submission:
    """What a pack gives every candidate: its starter and its self-check."""
    given = load("starter", pack.path("starter"))
    selfcheck = pack.path("selfcheck.py")
    if selfcheck.is_file():
        given.documents.append(fingerprint("selfcheck.py", selfcheck.read_text()))
    return given


def run(
    paths: list[Path],
    settings: Settings,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    starter: Path | None = None,
    pack: Pack | None = None,
) -> SimilarityReport:
    """Compare every pair of submissions, leaving out the code everyone was given (a starter
    folder or archive, or a pack's starter and files)."""
    with tempfile.TemporaryDirectory(prefix="proofwork-similarity-") as scratch:
        root = Path(scratch)
        labels = names(paths)
        submissions = [ingested(p, n, root, settings) for p, n in zip(paths, labels, strict=True)]
        given = ingested(starter, "starter", root, settings) if starter else None
    if pack is not None:
        given = pack_files(pack)
    return SimilarityReport(
        submissions=submissions,
        sources={n: str(p) for n, p in zip(labels, paths, strict=True)},
        pairs=compare(submissions, given, threshold),
        threshold=threshold,
        starter=f"pack {pack.id}" if pack else str(starter) if starter else None,
    )
