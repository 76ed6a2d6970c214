"""Shared fixtures: a hand-made corpus in the real release's layout, with its variants."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from facereact.data.clip_io import save_emotion
from facereact.layout import EMOTION_DIM, EMOTION_NAMES, FACE_DIM

GOLDEN = Path(__file__).resolve().parent / "golden"  # the reference implementation's outputs (docs/metrics.md)

# (speaker, listener) rows of a tiny val split: one NoXI and one RECOLA session.
ROWS = [("NoXI/001_2016-03-17_Paris/Expert_video/1", "NoXI/001_2016-03-17_Paris/Novice_video/1"),
        ("RECOLA/group-1/P25/2", "RECOLA/group-1/P26/2")]
EMOTION_FOLDER = {"Expert_video": "P1", "Novice_video": "P2", "P25": "P1", "P26": "P2"}


def write_person(root: Path, split: str, path: str, frames: int, rng: np.random.Generator, *,
                 singleton_axis: bool = False, stereo: bool = False, rate: int = 16000,
                 alias_emotion: bool = True) -> None:
    site, session, person, clip = path.split("/")
    face = rng.normal(0, 0.3, (frames, FACE_DIM)).astype(np.float32)
    face_file = root / split / "3D_FV_files" / f"{path}.npy"
    face_file.parent.mkdir(parents=True, exist_ok=True)
    np.save(face_file, face[:, None, :] if singleton_axis else face)
    folder = EMOTION_FOLDER[person] if alias_emotion else person
    save_emotion(root / split / "Emotion" / site / session / folder / f"{clip}.csv",
                 rng.uniform(0, 1, (frames, EMOTION_DIM)).astype(np.float32), EMOTION_NAMES)
    n = int(frames / 25 * rate)
    audio = 0.1 * np.sin(np.arange(n) * 0.05) + rng.normal(0, 0.01, n)
    wav = root / split / "Audio_files" / f"{path}.wav"
    wav.parent.mkdir(parents=True, exist_ok=True)
    sf.write(wav, np.stack([audio, audio * 0.5], 1) if stereo else audio, rate)


def make_corpus(root: Path, split: str = "val", frames: int = 51) -> Path:
    """A val split exercising the release's variants: P1/P2 emotion folders for NoXI and RECOLA,
    751-style odd frame counts with one stream a frame longer, (T, 1, 58) arrays, stereo 44.1 kHz."""
    rng = np.random.default_rng(0)
    (root / f"{split}.csv").parent.mkdir(parents=True, exist_ok=True)
    lines = [",speaker_path,listener_path"] + [f"{i},{s},{l}" for i, (s, l) in enumerate(ROWS)]
    (root / f"{split}.csv").write_text("\n".join(lines) + "\n")
    write_person(root, split, ROWS[0][0], frames + 1, rng, stereo=True, rate=44100)
    write_person(root, split, ROWS[0][1], frames, rng, singleton_axis=True)
    write_person(root, split, ROWS[1][0], frames, rng, alias_emotion=False)
    write_person(root, split, ROWS[1][1], frames, rng, rate=48000)
    n = 2 * len(ROWS)
    np.save(root / f"neighbour_emotion_{split}.npy", np.eye(n) + np.eye(n, k=1))
    return root


@pytest.fixture
def corpus_root(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the user's feature cache."""
    monkeypatch.setenv("FACEREACT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """Four sessions of one 120-frame clip: enough to train tiny models for a few steps."""
    from facereact.synth.writer import SynthConfig, synthesize_corpus

    return synthesize_corpus(tmp_path_factory.mktemp("corpus"),
                             SynthConfig(sessions=4, clips_per_session=1, frames=120, seed=3), progress=False)
