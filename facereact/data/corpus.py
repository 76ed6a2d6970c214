"""Reader for a REACT 2024 corpus (real or synthetic): split lists, mirrored rows, aligned clips."""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facereact.data.audio import wav_features
from facereact.data.clip_io import load_emotion, load_face, load_neighbours
from facereact.data.paths import AUDIO_DIR, FACE_DIR, SPLITS, ClipRef, neighbour_file
from facereact.data.personality import PERSON_COLUMN, PERSONALITY_FILE, load_personality
from facereact.errors import DataError

# The release mixes 750- and 751-frame arrays; larger disagreements mean a broken clip.
MAX_FRAME_SKEW = 2


@dataclass(frozen=True)
class PairRef:
    """Row `index` of the evaluation order: a speaker clip and the listener clip facing it."""

    index: int
    speaker: ClipRef
    listener: ClipRef
    mirrored: bool


@dataclass
class ClipPair:
    """Aligned arrays of one speaker/listener pair, all with the same number of frames T."""

    ref: PairRef
    speaker_audio: np.ndarray  # (T, AUDIO_DIM)
    speaker_face: np.ndarray  # (T, FACE_DIM)
    speaker_emotion: np.ndarray  # (T, EMOTION_DIM)
    listener_face: np.ndarray
    listener_emotion: np.ndarray
    recorded_frames: int = 0  # the pair's frames before a clip_frames cut

    @property
    def frames(self) -> int:
        return self.speaker_face.shape[0]


def read_split_list(root: Path, split: str) -> list[tuple[str, str]]:
    """The (speaker_path, listener_path) rows of `<root>/<split>.csv`."""
    path = root / f"{split}.csv"
    if not path.is_file():
        raise DataError(path, f"missing split list for '{split}'")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0][1:3]] != ["speaker_path", "listener_path"]:
        raise DataError(path, "header must be ',speaker_path,listener_path'")
    pairs = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) < 3 or not row[1] or not row[2]:
            raise DataError(path, f"line {line}: expected 'index,speaker_path,listener_path', got {row}")
        for p in row[1:3]:
            if len(p.strip("/").split("/")) != 4:
                raise DataError(path, f"line {line}: clip path '{p}' is not site/session/person/clip")
        pairs.append((row[1].strip("/"), row[2].strip("/")))
    if not pairs:
        raise DataError(path, "split list has no rows")
    return pairs


class ReactCorpus:
    """One split of a corpus; rows in evaluation order: as listed, then mirrored (N = 2 * rows)."""

    def __init__(self, root: str | Path, split: str, clip_frames: int | None = None,
                 cache_dir: str | Path | None = None) -> None:
        if split not in SPLITS:
            raise DataError(None, f"unknown split '{split}', expected one of {SPLITS}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(self.root, "corpus folder does not exist")
        self.split = split
        self.clip_frames = clip_frames
        self.cache_dir = cache_dir
        rows = read_split_list(self.root, split)
        listed = [PairRef(i, ClipRef(split, s), ClipRef(split, l), False) for i, (s, l) in enumerate(rows)]
        mirrored = [PairRef(len(rows) + i, ClipRef(split, l), ClipRef(split, s), True)
                    for i, (s, l) in enumerate(rows)]
        self.pairs: list[PairRef] = listed + mirrored

    def __len__(self) -> int:
        return len(self.pairs)

    def clips(self) -> list[ClipRef]:
        """Every distinct person clip of the split, in first-seen order."""
        return list(dict.fromkeys(c for p in self.pairs[: len(self) // 2] for c in (p.speaker, p.listener)))

    def personality(self) -> dict[str, np.ndarray]:
        """{person (`site/session/person`): Big Five in [0, 1]} from the split's personality.csv
        (ours: data/personality.py); empty without one."""
        path = self.root / self.split / PERSONALITY_FILE
        return load_personality(path, PERSON_COLUMN) if path.is_file() else {}

    def neighbours(self) -> np.ndarray:
        """(N, N) boolean appropriateness matrix in this split's row order."""
        return load_neighbours(neighbour_file(self.root, self.split), len(self))

    def load_person(self, clip: ClipRef) -> tuple[np.ndarray, np.ndarray]:
        """(T, FACE_DIM) face and (T, EMOTION_DIM) emotion of one person clip, cut to the same length."""
        face = load_face(clip.file(self.root, FACE_DIR))
        emotion = load_emotion(clip.emotion_file(self.root))
        if abs(len(face) - len(emotion)) > MAX_FRAME_SKEW:
            raise DataError(clip.file(self.root, FACE_DIR), f"{len(face)} frames but its emotion csv has {len(emotion)}")
        frames = min(len(face), len(emotion))
        return face[:frames], emotion[:frames]

    def load_pair(self, index: int, with_audio: bool = True) -> ClipPair:
        ref = self.pairs[index]
        s_face = load_face(ref.speaker.file(self.root, FACE_DIR))
        s_emotion = load_emotion(ref.speaker.emotion_file(self.root))
        l_face = load_face(ref.listener.file(self.root, FACE_DIR))
        l_emotion = load_emotion(ref.listener.emotion_file(self.root))
        lengths = {"speaker 3DMM": len(s_face), "speaker emotion": len(s_emotion),
                   "listener 3DMM": len(l_face), "listener emotion": len(l_emotion)}
        if max(lengths.values()) - min(lengths.values()) > MAX_FRAME_SKEW:
            raise DataError(ref.speaker.file(self.root, FACE_DIR),
                            f"frame counts disagree for pair {ref.speaker.path} -> {ref.listener.path}: {lengths}")
        frames = recorded = min(lengths.values())
        if self.clip_frames is not None:
            if frames < self.clip_frames:
                raise DataError(ref.speaker.file(self.root, FACE_DIR),
                                f"pair has {frames} frames, fewer than the {self.clip_frames} asked for")
            frames = self.clip_frames
        audio = (wav_features(ref.speaker.file(self.root, AUDIO_DIR), frames, self.cache_dir)
                 if with_audio else np.zeros((frames, 0), np.float32))
        return ClipPair(ref, audio, s_face[:frames], s_emotion[:frames], l_face[:frames], l_emotion[:frames],
                        recorded)
