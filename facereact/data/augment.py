"""`facereact data augment`: a copy of a REACT 2024 corpus whose training speech is heard through
random rooms and microphones (data/rooms.py: reverberation, band limits, gain, noise), so that a
model trained on it does not learn one studio's microphone.

Only the wavs of the chosen splits change (by default train: a model is still scored on the
recordings as they are); every other file is linked (or copied where links cannot be made). Each
wav draws its room from a stream seeded by the seed and its path, so a copy is the same whatever
order it is written in, and an interrupted copy resumes where it stopped (a wav already written is
kept; each is written to a temporary file, then renamed).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from facereact.data.mars import is_mars
from facereact.data.paths import AUDIO_DIR, SPLITS
from facereact.errors import DataError, UsageError
from facereact.io import atomic_path
from facereact.data.rooms import through_room


def augment_corpus(root: str | Path, out: str | Path, room: float = 0.5, seed: int = 0,
                   splits: tuple[str, ...] = ("train",), progress: bool = True) -> int:
    """Write the augmented copy of `root` into `out`; the number of wavs put through a room."""
    root, out = Path(root), Path(out)
    if not root.is_dir():
        raise DataError(root, "corpus folder does not exist")
    if is_mars(root):
        raise UsageError("augment covers the REACT 2024 layout: a MARS model hears wav2vec2 features computed "
                         "from the wavs elsewhere, which a copy of the wavs would not change")
    if not 0.0 < room <= 1.0:
        raise UsageError(f"--room {room}: within (0, 1]")
    if unknown := set(splits) - set(SPLITS):
        raise UsageError(f"--splits: {', '.join(sorted(unknown))} is not one of {', '.join(SPLITS)}")
    if out.resolve() == root.resolve() or root.resolve() in out.resolve().parents:
        raise UsageError(f"{out}: the copy must not be the corpus or inside it")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    changed = 0
    for path in tqdm(files, desc="augment", unit="file", disable=not progress):
        rel = path.relative_to(root)
        target = out / rel
        heard = rel.parts[0] in splits and len(rel.parts) > 1 and rel.parts[1] == AUDIO_DIR and path.suffix == ".wav"
        changed += heard
        if target.exists():  # written before an interruption
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if heard:
            _through_room(path, target, room, _seed(seed, rel))
        else:
            _link(path, target)
    return changed


def _seed(seed: int, rel: Path) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{rel.as_posix()}".encode()).digest()[:8], "little")


def _through_room(source: Path, target: Path, room: float, seed: int) -> None:
    try:
        audio, rate = sf.read(str(source), dtype="float64", always_2d=True)
        subtype = sf.info(str(source)).subtype
    except Exception as exc:  # soundfile raises several types for unreadable files
        raise DataError(source, f"unreadable wav ({exc})") from None
    if not np.isfinite(audio).all():
        raise DataError(source, "wav holds NaN or inf samples")
    # every channel through the same room (two microphones in one room, as the release's stereo)
    heard = np.stack([through_room(audio[:, c], rate, room, np.random.default_rng(seed))
                      for c in range(audio.shape[1])], 1)
    with atomic_path(target) as tmp:
        sf.write(str(tmp), heard, rate, subtype=subtype)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, target)
