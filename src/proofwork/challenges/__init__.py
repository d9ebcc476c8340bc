"""Finding challenge packs: the built-in ones and folders on PROOFWORK_CHALLENGES_PATH."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from proofwork.challenges.pack import (
    HUMAN_SIGNALS,
    MACHINE_SIGNALS,
    SIGNALS,
    Condition,
    Pack,
    PackError,
    load_pack,
)

BUILTIN = Path(__file__).parent / "packs"

__all__ = [
    "HUMAN_SIGNALS",
    "MACHINE_SIGNALS",
    "SIGNALS",
    "Catalogue",
    "Condition",
    "Pack",
    "PackError",
    "discover",
    "load_pack",
]


@dataclass
class Catalogue:
    """Every pack found, by id, and the folders that failed to load (with why)."""

    packs: dict[str, Pack] = field(default_factory=dict)
    broken: dict[Path, str] = field(default_factory=dict)

    def get(self, challenge_id: str) -> Pack:
        """The pack with this id, or PackError listing what exists."""
        if challenge_id in self.packs:
            return self.packs[challenge_id]
        for path, reason in self.broken.items():
            if path.name == challenge_id:
                raise PackError(reason)
        known = ", ".join(sorted(self.packs)) or "none"
        raise PackError(f"unknown challenge {challenge_id!r}; known: {known}")


def _candidates(folder: Path) -> list[Path]:
    # A path entry is either a pack itself or a folder of packs.
    if (folder / "challenge.toml").is_file():
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / "challenge.toml").is_file())


def discover(extra_path: str = "") -> Catalogue:
    """Built-in packs, then those on `extra_path` (os.pathsep-separated, like PATH)."""
    catalogue = Catalogue()
    sources = [(BUILTIN, True)] + [
        (Path(entry), False) for entry in extra_path.split(os.pathsep) if entry.strip()
    ]
    for folder, builtin in sources:
        if not builtin and not folder.is_dir():
            catalogue.broken[folder] = f"{folder}: on PROOFWORK_CHALLENGES_PATH but not a folder"
            continue
        for root in _candidates(folder):
            _add(catalogue, root, builtin)
    return catalogue


def _add(catalogue: Catalogue, root: Path, builtin: bool) -> None:
    try:
        pack = load_pack(root, builtin=builtin)
    except PackError as exc:
        catalogue.broken[root] = str(exc)
        return
    if pack.id in catalogue.packs:
        other = catalogue.packs[pack.id].root
        catalogue.broken[root] = f"{root}: challenge id {pack.id!r} is already taken by {other}"
        return
    catalogue.packs[pack.id] = pack
