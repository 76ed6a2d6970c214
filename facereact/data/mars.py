"""The MARS corpus of REACT 2025 and 2026, as distributed.

    <root>/<split>/<modality>/<role>/session<k>/<stem>.<ext>

A speaker clip and the listener clip facing it share a stem in the same session folder. Clips run
at 30 fps and have any length. Modalities: `facial-attributes` (T, 25) and `coefficients` (T, 58)
as .npy (singleton axes squeezed on load), `audio` .wav, `audio-features` (T, 768) wav2vec2
features, face-crop and raw videos (counted, never needed). REACT 2026 adds per split
`personality/{speaker,listener}.csv` (Big Five, 1..5, read as (v - 1) / 4) and listener EEG
`eeg_processed/<role>/session<k>/<stem>.csv` (14 columns, one row a second, blank cells missing).
Every problem is a DataError naming the file.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facereact.data.clip_io import check_finite, load_npy
from facereact.errors import DataError
from facereact.data.personality import load_personality
from facereact.layout import EEG_NAMES, EMOTION_DIM, FACE_DIM, WAV2VEC_DIM

SPLITS = ("train", "val", "test")
ROLES = ("speaker", "listener")
ATTRIBUTES, COEFFICIENTS, AUDIO, WAV2VEC = "facial-attributes", "coefficients", "audio", "audio-features"
FACE_CROP, RAW_VIDEO, EEG_DIR, PERSONALITY_DIR = "video-face-crop", "video-raw", "eeg_processed", "personality"
SUFFIX = {ATTRIBUTES: ".npy", COEFFICIENTS: ".npy", AUDIO: ".wav", WAV2VEC: ".npy", FACE_CROP: ".mp4",
          RAW_VIDEO: ".mp4", EEG_DIR: ".csv"}
_SESSION = re.compile(r"session(\d+)$")
EEG_RAW = 4  # the first four EEG columns are raw microvolts x 1000: the organisers' loader divides them


@dataclass(frozen=True, order=True)
class MarsClip:
    """One person's clip: `<role>/session<k>/<stem>` of a split."""

    split: str
    role: str
    session: int
    stem: str

    @property
    def name(self) -> str:
        return f"{self.role}/session{self.session}/{self.stem}"

    @property
    def partner(self) -> "MarsClip":
        """The other person's clip of the same conversation."""
        return MarsClip(self.split, ROLES[1 - ROLES.index(self.role)], self.session, self.stem)

    def file(self, root: Path, modality: str) -> Path:
        return Path(root) / self.split / modality / self.role / f"session{self.session}" / (self.stem + SUFFIX[modality])


def is_mars(root: str | Path) -> bool:
    """Whether `root` holds a corpus in the MARS layout (any split with a facial-attributes or
    coefficients folder)."""
    root = Path(root)
    return any((root / s / m).is_dir() for s in SPLITS for m in (ATTRIBUTES, COEFFICIENTS))


def _squeezed(path: Path, array: np.ndarray, dim: int, what: str) -> np.ndarray:
    """(T, dim) from an array whose shape may carry singleton axes ((T, 1, dim), (1, T, dim))."""
    squeezed = array.reshape([n for n in array.shape if n != 1]) if array.ndim > 2 else array
    if squeezed.ndim != 2 or squeezed.shape[1] != dim or squeezed.shape[0] < 2:
        raise DataError(path, f"{what} shape {array.shape}, expected (T, {dim}) with T >= 2 "
                              "(singleton axes are squeezed)")
    # float32 stays as it is (a memory map stays mapped); anything else is converted, in memory
    return check_finite(path, squeezed if squeezed.dtype == np.float32 else np.array(squeezed, np.float32))


def load_array(path: Path, modality: str, mapped: bool = False) -> np.ndarray:
    """A clip's (T, D) float32 array of one .npy modality. mapped: a read-only memory map where the
    file holds float32 (as the release's do), so a corpus larger than memory can be trained on."""
    dim, what = {ATTRIBUTES: (EMOTION_DIM, "facial attributes"), COEFFICIENTS: (FACE_DIM, "coefficients"),
                 WAV2VEC: (WAV2VEC_DIM, "wav2vec2 features")}[modality]
    return _squeezed(path, load_npy(path, what + " file", mapped), dim, what)


def load_eeg(path: Path) -> np.ndarray:
    """(seconds, 14) float32 EEG rows; blank or non-finite cells are NaN (missing), raw channels
    divided by 1000 as the organisers' loader does."""
    if not path.is_file():
        raise DataError(path, "missing EEG csv")
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"unreadable csv ({exc})") from None
    if len(rows) < 2:
        raise DataError(path, "EEG csv has no header or no rows")
    body = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    widths = {len(r) for r in body}
    if widths != {len(EEG_NAMES)}:
        raise DataError(path, f"EEG csv has {sorted(widths)} columns, expected {len(EEG_NAMES)}")
    out = np.full((len(body), len(EEG_NAMES)), np.nan, np.float32)
    for i, row in enumerate(body):
        for j, cell in enumerate(row):
            try:
                value = float(cell) if cell.strip() else np.nan
            except ValueError:
                raise DataError(path, f"row {i + 2}, column {j + 1}: '{cell}' is not a number") from None
            out[i, j] = value if np.isfinite(value) else np.nan
    out[:, :EEG_RAW] /= 1000.0
    return out


class MarsCorpus:
    """The clips of one split, found by walking the attribute and coefficient folders."""

    def __init__(self, root: str | Path, split: str) -> None:
        self.root, self.split = Path(root), split
        if split not in SPLITS:
            raise DataError(self.root, f"unknown split '{split}' (one of {SPLITS})")
        found = set()
        for modality in (ATTRIBUTES, COEFFICIENTS):
            for role in ROLES:
                base = self.root / split / modality / role
                if not base.is_dir():
                    continue
                for session_dir in base.iterdir():
                    match = _SESSION.match(session_dir.name)
                    if not (session_dir.is_dir() and match):
                        continue
                    for f in session_dir.glob("*.npy"):
                        found.add(MarsClip(split, role, int(match.group(1)), f.stem))
        if not found:
            raise DataError(self.root / split, f"no MARS clips (expected {ATTRIBUTES}/<role>/session<k>/<stem>.npy)")
        self.clips: list[MarsClip] = sorted(found)
        speakers = [c for c in self.clips if c.role == "speaker"]
        self.pairs: list[tuple[MarsClip, MarsClip]] = [(c, c.partner) for c in speakers if c.partner in found]
        self.unpaired: list[MarsClip] = [c for c in self.clips if c.partner not in found]
        self._attributes: dict[MarsClip, np.ndarray] = {}
        self._sessions: dict[int, dict[str, list[MarsClip]]] = {}
        for clip in self.clips:
            self._sessions.setdefault(clip.session, {r: [] for r in ROLES})[clip.role].append(clip)

    def __len__(self) -> int:
        return len(self.pairs)

    def sessions(self) -> dict[int, dict[str, list[MarsClip]]]:
        """{session: {role: clips}}: within a session every clip of the other role is appropriate."""
        return self._sessions

    def inputs(self, directions: str = "both") -> list[MarsClip]:
        """The clips that play the speaker of a pair: every clip with a partner ("both", REACT 2025)
        or only the speaker role's ("speaker", 2026)."""
        roles = ROLES if directions == "both" else ("speaker",)
        unpaired = set(self.unpaired)
        return [c for c in self.clips if c.role in roles and c not in unpaired]

    def attributes(self, clip: MarsClip, mapped: bool = False) -> np.ndarray:
        """(T, 25), read once: scoring reads each clip as an input and as a target of many inputs
        (25 floats a frame: a split's worth is a few hundred MB at most). mapped: a fresh read-only
        memory map instead (training keeps every clip of a split at hand, and reads windows)."""
        if mapped:
            return load_array(clip.file(self.root, ATTRIBUTES), ATTRIBUTES, mapped=True)
        if clip not in self._attributes:
            array = load_array(clip.file(self.root, ATTRIBUTES), ATTRIBUTES)
            array.flags.writeable = False  # shared by every caller: a change would be a change for all
            self._attributes[clip] = array
        return self._attributes[clip]

    def coefficients(self, clip: MarsClip, mapped: bool = False) -> np.ndarray:
        return load_array(clip.file(self.root, COEFFICIENTS), COEFFICIENTS, mapped)

    def wav2vec(self, clip: MarsClip, mapped: bool = False) -> np.ndarray:
        """(T, 768) features; mapped: read from disk as sliced (768 floats a frame: a release's
        worth can be larger than a workstation's memory)."""
        return load_array(clip.file(self.root, WAV2VEC), WAV2VEC, mapped)

    def pair_arrays(self, clip: MarsClip, mapped: bool = True) -> tuple[np.ndarray, ...]:
        """The pair whose speaker is `clip` (its partner listens): the speaker's wav2vec2 features, face
        and attributes, the listener's face and attributes, all cut to the shortest (memory maps by
        default: training reads windows of them)."""
        other = clip.partner
        arrays = (self.wav2vec(clip, mapped), self.coefficients(clip, mapped), self.attributes(clip, mapped),
                  self.coefficients(other, mapped), self.attributes(other, mapped))
        t = min(len(a) for a in arrays)
        return tuple(a[:t] for a in arrays)

    def eeg(self, clip: MarsClip) -> np.ndarray | None:
        """The clip's EEG rows, or None where the release has none (2025, or a missing recording)."""
        path = clip.file(self.root, EEG_DIR)
        return load_eeg(path) if path.is_file() else None

    def personality(self) -> dict[tuple[str, str], np.ndarray]:
        """{(role, stem): Big Five in [0, 1]} from the split's personality files (empty without)."""
        out = {}
        for role in ROLES:
            path = self.root / self.split / PERSONALITY_DIR / f"{role}.csv"
            if path.is_file():
                out.update({(role, Path(name).stem): v for name, v in load_personality(path).items()})
        return out

    def videos(self) -> int:
        """Face-crop videos present (counted only: nothing here reads video)."""
        base = self.root / self.split / FACE_CROP
        return sum(1 for _ in base.glob("*/session*/*.mp4")) if base.is_dir() else 0
