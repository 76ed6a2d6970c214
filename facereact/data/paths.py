"""Where the files of one clip live in a REACT 2024 corpus, as distributed."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
FACE_DIR, EMOTION_DIR, AUDIO_DIR, VIDEO_DIR = "3D_FV_files", "Emotion", "Audio_files", "Video_files"

# The release names Emotion person folders P1/P2 instead of the person's own name.
_PERSON_ALIAS = {"Expert_video": "P1", "Novice_video": "P2",
                 "P25": "P1", "P41": "P1", "P45": "P1", "P26": "P2", "P42": "P2", "P46": "P2"}


@dataclass(frozen=True)
class ClipRef:
    """One person's clip: `site/session/person/clip`, as written in `<split>.csv`."""

    split: str
    path: str

    @property
    def site(self) -> str:
        return self.path.split("/")[0]

    @property
    def session(self) -> str:
        return "/".join(self.path.split("/")[:2])

    @property
    def person(self) -> str:
        """`site/session/person`: who this clip is of (the personality table's key)."""
        return "/".join(self.path.split("/")[:3])

    def file(self, root: Path, kind: str) -> Path:
        suffix = {FACE_DIR: ".npy", EMOTION_DIR: ".csv", AUDIO_DIR: ".wav", VIDEO_DIR: ".mp4"}[kind]
        return root / self.split / kind / (self.path + suffix)

    def emotion_file(self, root: Path) -> Path:
        """The emotion csv, under the person's own folder or its P1/P2 alias."""
        direct = self.file(root, EMOTION_DIR)
        if direct.is_file():
            return direct
        site, session, person, clip = self.path.split("/")
        alias = _PERSON_ALIAS.get(person) or _alias_by_order(root / self.split / FACE_DIR / site / session, person)
        if alias is None:
            return direct
        aliased = root / self.split / EMOTION_DIR / site / session / alias / f"{clip}.csv"
        return aliased if aliased.is_file() else direct


def _alias_by_order(session_dir: Path, person: str) -> str | None:
    """P1/P2 for persons not in the table: the lower-numbered of the session's two persons is P1."""
    if not session_dir.is_dir():
        return None
    persons = sorted((p.name for p in session_dir.iterdir() if p.is_dir()), key=_person_number)
    if len(persons) != 2 or person not in persons:
        return None
    return f"P{persons.index(person) + 1}"


def _person_number(name: str) -> tuple[int, str]:
    m = re.search(r"\d+", name)
    return (int(m.group()) if m else 1 << 30, name)


def neighbour_file(root: Path, split: str) -> Path:
    return root / f"neighbour_emotion_{split}.npy"


def split_fingerprint(root: str | Path, split: str) -> str:
    """What identifies a corpus split for predictions made on it: its row list and neighbour
    matrix, as a short hex digest (the same copy of a corpus anywhere gives the same one)."""
    digest = hashlib.sha256(split.encode())
    for path in (Path(root) / f"{split}.csv", neighbour_file(Path(root), split)):
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:16]


def provenance(root: str | Path, split: str) -> dict[str, np.ndarray]:
    """What a predictions file records about the data it was made for (string arrays in an .npz)."""
    return {"split": np.array(split), "corpus": np.array(split_fingerprint(root, split))}
