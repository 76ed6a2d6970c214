"""Hand-written toy corpora in the REACT 2024 layout, for the end-to-end claim tests: one person
clip at a time, and a small FSQ tokenizer trained on them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from facereact.data.clip_io import save_emotion
from facereact.data.paths import AUDIO_DIR, FACE_DIR
from facereact.data.personality import PERSON_COLUMN, PERSONALITY_FILE, write_personality
from facereact.layout import EMOTION_DIM, EMOTION_NAMES, FACE_DIM, face_index
from facereact.tokenizer.model import TokenizerConfig
from facereact.tokenizer.training import TokenizerLoss, train_tokenizer
from facereact.train.schedules import TrainConfig


def write_person(root: Path, split: str, path: str, face: np.ndarray, audio: np.ndarray, rate: int) -> None:
    """One person clip (`site/session/person/clip`): its face, a still emotion, its voice."""
    site, session, person, clip = path.split("/")
    (root / split / FACE_DIR / path).parent.mkdir(parents=True, exist_ok=True)
    np.save(root / split / FACE_DIR / f"{path}.npy", face.astype(np.float32))
    save_emotion(root / split / "Emotion" / site / session / person / f"{clip}.csv",
                 np.zeros((len(face), EMOTION_DIM), np.float32), EMOTION_NAMES)
    (root / split / AUDIO_DIR / path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(root / split / AUDIO_DIR / f"{path}.wav", audio, rate)


def toy_tokenizer(root: Path, out: Path, epochs: int) -> Path:
    """A small FSQ tokenizer (7 x 5 x 5 codes) trained on the toy corpus at `root`."""
    train_tokenizer(root, out, TokenizerConfig(levels=(7, 5, 5), width=32, layers=1, heads=2, emotion_layers=1,
                                               reader_width=8, reader_layers=1, context=8),
                    TrainConfig(epochs=epochs, batch_size=16, lr=3e-3, warmup_steps=10), TokenizerLoss(window=32),
                    progress=False)
    return out


def write_split(root: Path, split: str, rows: list[tuple[str, str]]) -> None:
    """The split's list of (speaker, listener) clip paths, each row appropriate only to itself."""
    lines = [f"{i},{speaker},{listener}" for i, (speaker, listener) in enumerate(rows)]
    (root / f"{split}.csv").write_text("\n".join([",speaker_path,listener_path", *lines]) + "\n")
    np.save(root / f"neighbour_emotion_{split}.npy", np.eye(2 * len(rows)))


FRAMES, RATE = 150, 16000
SMILE = [face_index("mouthSmileLeft"), face_index("mouthSmileRight")]


def smiles_by_personality(root: Path) -> Path:
    """Everyone smiles at 0.5 x their Agreeableness, whoever speaks; nothing else about them shows."""
    rng = np.random.default_rng(0)
    for split, sessions in (("train", range(16)), ("val", range(16, 22)), ("test", range(22, 23))):
        rows, table = [], {}
        for s in sessions:
            people = [f"NoXI/{s:03d}_toy/Expert_video", f"NoXI/{s:03d}_toy/Novice_video"]
            for who in people:
                table[who] = np.concatenate([[3.0], rng.uniform(1, 5, 1), [3.0, 3.0, 3.0]])
            for clip in (1, 2, 3):
                for who in people:
                    face = rng.normal(0, 0.01, (FRAMES, FACE_DIM)).clip(0, None)
                    face[:, SMILE] += 0.5 * (table[who][1] - 1) / 4
                    write_person(root, split, f"{who}/{clip}", face, rng.normal(0, 0.05, FRAMES * RATE // 25), RATE)
                rows.append((f"{people[0]}/{clip}", f"{people[1]}/{clip}"))
        write_split(root, split, rows)
        write_personality(root / split / PERSONALITY_FILE, PERSON_COLUMN, table)
    return root
