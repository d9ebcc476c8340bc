"""Truck factors of real histories against those Avelino et al. published for the same systems.

The published values are the 133-system list of "What is the Truck Factor of popular GitHub
applications?" (Avelino, Valente, Hora; PeerJ preprint 1233, the data set of their ICPC 2016
paper), as listed on the authors' page (aserg-ufmg/Truck-Factor, index.html). Each repository
is audited at its last first-parent commit before 2015-07-01, when the data was collected, with
the audit's own history pass, rename following and degree-of-authorship rules.

Repositories are read from local clones (`--mirrors DIR/<owner>+<name>/repo`, the layout the
project's fetch tool writes); the benchmark never downloads anything. Passes when the truck
factor is within 1 of the published one for most (over half) of the repositories it found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from proofwork.audit import knowledge
from proofwork.audit.git import Git, GitError
from proofwork.audit.history import read_commits
from proofwork.audit.lineage import fold

CUTOFF = "2015-07-01"
# (repository as published, where it lives now, published truck factor)
PUBLISHED = (
    ("mitsuhiko/flask", "pallets/flask", 1),
    ("celery/celery", "celery/celery", 1),
    ("kivy/kivy", "kivy/kivy", 1),
    ("sampsyo/beets", "sampsyo/beets", 1),
    ("powerline/powerline", "powerline/powerline", 1),
    ("divio/django-cms", "divio/django-cms", 2),
    ("thumbor/thumbor", "thumbor/thumbor", 2),
    ("bup/bup", "bup/bup", 2),
    ("boto/boto", "boto/boto", 3),
    ("ipython/ipython", "ipython/ipython", 3),
    ("spotify/luigi", "spotify/luigi", 3),
    ("mbostock/d3", "mbostock/d3", 1),
    ("Leaflet/Leaflet", "Leaflet/Leaflet", 1),
    ("strongloop/express", "expressjs/express", 1),
    ("janl/mustache.js", "janl/mustache.js", 1),
    ("mitchellh/vagrant", "hashicorp/vagrant", 1),
    ("jashkenas/backbone", "jashkenas/backbone", 2),
    ("moment/moment", "moment/moment", 2),
    ("bbatsov/rubocop", "rubocop/rubocop", 2),
    ("jquery/jquery", "jquery/jquery", 3),
)


def clone_dir(mirrors: Path, repo: str) -> Path | None:
    """The local clone of `owner/name`, if there is one."""
    base = mirrors / repo.replace("/", "+") / "repo"
    for candidate in (base / ".git", base):
        if (candidate / "HEAD").is_file():
            return candidate
    return None


def truck_factor_at(git: Git, cutoff: str) -> tuple[str, int, int, int, list[str]]:
    """(commit, commits read, files, truck factor, its authors) at the last commit before cutoff."""
    rev = git.run(["rev-list", "-1", "--first-parent", f"--before={cutoff}", "HEAD"])
    commit = rev.decode().strip()
    commits, _, _ = read_commits(git, commit)
    listing = git.run(["ls-tree", "-r", "-z", "--name-only", commit])
    files = {p.decode("utf-8", "surrogateescape") for p in listing.split(b"\0") if p}
    lineages = fold(commits, files)
    authors = {
        path: knowledge.authors_of(lineage)
        for path, lineage in lineages.files.items()
        if knowledge.is_authored(path)
    }
    tf = knowledge.truck_factor(authors)
    names = [lineages.names.get(a, a) for a in tf.removed]
    return commit, len(commits), tf.files, tf.value, names


def main() -> int:
    """Print the table; 0 when most truck factors are within 1 of the published ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    args = parser.parse_args()
    rows = []
    header = f"{'repository':22} {'HEAD (before ' + CUTOFF + ')':22} {'commits':>7} {'files':>6}"
    print(f"{header} {'published':>9} {'ours':>4} {'diff':>4}  TF authors (ours)")
    with tempfile.TemporaryDirectory() as home:
        for published_name, now, published in PUBLISHED:
            path = clone_dir(args.mirrors, now)
            if path is None:
                print(f"{published_name:22} (no clone under {args.mirrors}; skipped)")
                continue
            started = time.monotonic()
            try:
                commit, commits, files, ours, names = truck_factor_at(Git(path, Path(home)), CUTOFF)
            except GitError as exc:
                print(f"{published_name:22} (clone unreadable: {exc}; skipped)")
                continue
            rows.append((published, ours))
            print(
                f"{published_name:22} {commit[:12]:22} {commits:>7} {files:>6} {published:>9} "
                f"{ours:>4} {ours - published:>+4}  {', '.join(names)} "
                f"({time.monotonic() - started:.1f}s)",
                flush=True,
            )
    if not rows:
        print("no repository found: clone them under --mirrors as <owner>+<name>/repo")
        return 1
    close = sum(abs(ours - published) <= 1 for published, ours in rows)
    print(f"\nwithin 1 of the published truck factor: {close} of {len(rows)}")
    return 0 if close * 2 > len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
