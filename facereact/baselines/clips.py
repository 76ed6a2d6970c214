"""Clip pairs as arrays for the trained baselines (Trans-VAE, BeLFusion), their normalization,
random training windows, and K reactions for every pair of a split: a REACT 2024 corpus's (MFCC
audio, 25 fps) or a MARS corpus's (wav2vec2 features, 30 fps, every clip with a partner as an input,
as the generator reads it)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from facereact.data.corpus import ReactCorpus
from facereact.data.mars import MarsCorpus, is_mars
from facereact.data.paths import provenance
from facereact.data.personality import personality_input
from facereact.data.rates import check_fits, corpus_rates
from facereact.data.stats import AUDIO_STD_FLOOR, FACE_STD_FLOOR, mean_std
from facereact.layout import AUDIO_DIM, CLIP_FRAMES, EMOTION_DIM, FACE_DIM, FPS
from facereact.errors import UsageError
from facereact.model_files import CONFIG_FILE, config_from_dict, load_model_files, load_weights, save_model
from facereact.train.windows import draw_window


@dataclass
class FeatureStats:
    """The training corpus's feature normalisation, and its frame rate and audio feature (a model
    refuses a corpus of others: data/rates.py). Per frame the speaker is the audio feature, 3DMM and
    emotion: the challenge's baselines read speaker video through a CNN; there is no video model
    here, so the speaker's 3DMM + emotion stand in."""

    audio_mean: list[float] = field(default_factory=lambda: [0.0] * AUDIO_DIM)
    audio_std: list[float] = field(default_factory=lambda: [1.0] * AUDIO_DIM)
    face_mean: list[float] = field(default_factory=lambda: [0.0] * FACE_DIM)
    face_std: list[float] = field(default_factory=lambda: [1.0] * FACE_DIM)
    fps: int = FPS  # models saved before MARS training load as REACT 2024's
    audio_feature: str = "mfcc"

    @property
    def speaker_dim(self) -> int:
        """The width of a frame of speaker features."""
        return len(self.audio_mean) + FACE_DIM + EMOTION_DIM

    def speaker(self, audio: np.ndarray, face: np.ndarray, emotion: np.ndarray) -> np.ndarray:
        """(T, speaker_dim) normalized speaker features."""
        a = (audio - np.asarray(self.audio_mean)) / np.asarray(self.audio_std)
        return np.concatenate([a, self.normalize_face(face), emotion], axis=1).astype(np.float32)

    def normalize_face(self, face: np.ndarray) -> np.ndarray:
        return ((face - np.asarray(self.face_mean)) / np.asarray(self.face_std)).astype(np.float32)

    def denormalize_face(self, face: torch.Tensor) -> torch.Tensor:
        return face * torch.tensor(self.face_std) + torch.tensor(self.face_mean)


@dataclass
class PairArrays:
    speaker: np.ndarray  # (T, speaker_dim), normalized
    listener_face: np.ndarray  # (T, FACE_DIM), normalized
    listener_emotion: np.ndarray  # (T, EMOTION_DIM)
    listener_personality: np.ndarray | None = None  # the listener's Big Five in [0, 1], where the split gives it


@dataclass
class RawPair:
    """One pair's arrays in corpus units, its listener's Big Five where the split gives it
    (data/personality.py), and a name (MARS: the input clip's, which keys its reactions)."""

    speaker_audio: np.ndarray
    speaker_face: np.ndarray
    speaker_emotion: np.ndarray
    listener_face: np.ndarray
    listener_emotion: np.ndarray
    name: str = ""
    listener_personality: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return len(self.speaker_audio)


def load_raw_pairs(root: str | Path, split: str, progress: bool = True) -> list[RawPair]:
    """Every pair of a split: REACT 2024's in mirrored order, or MARS's inputs (every clip with a
    partner, cut to the shorter) in MarsCorpus.inputs() order, as memory maps."""
    if is_mars(root):
        corpus = MarsCorpus(root, split)
        personality = corpus.personality()
        return [RawPair(*corpus.pair_arrays(clip), clip.name, personality.get((clip.partner.role, clip.partner.stem)))
                for clip in tqdm(corpus.inputs(), desc=f"load {split}", disable=not progress, leave=False)]
    corpus = ReactCorpus(root, split)
    personality = corpus.personality()
    pairs = []
    for i in tqdm(range(len(corpus)), desc=f"load {split}", disable=not progress, leave=False):
        p = corpus.load_pair(i)
        pairs.append(RawPair(p.speaker_audio, p.speaker_face, p.speaker_emotion, p.listener_face, p.listener_emotion,
                             p.ref.speaker.path, personality.get(p.ref.listener.person)))
    return pairs


def fit_stats(raw_pairs: list[RawPair], root: str | Path) -> FeatureStats:
    """The normalisation of a training split of the corpus at `root`, and the corpus's rates."""
    audio = mean_std([p.speaker_audio for p in raw_pairs], AUDIO_STD_FLOOR)
    face = mean_std([p.speaker_face for p in raw_pairs] + [p.listener_face for p in raw_pairs], FACE_STD_FLOOR)
    rates = corpus_rates(root)
    return FeatureStats(*audio, *face, fps=rates.fps, audio_feature=rates.audio_feature)


def to_arrays(raw_pairs: list[RawPair], stats: FeatureStats) -> list[PairArrays]:
    return [PairArrays(stats.speaker(p.speaker_audio, p.speaker_face, p.speaker_emotion),
                       stats.normalize_face(p.listener_face), p.listener_emotion.astype(np.float32),
                       p.listener_personality)
            for p in raw_pairs]


def window_arrays(pair: PairArrays, window: slice, with_personality: bool = False) -> tuple[np.ndarray, ...]:
    """A window's speaker features, listener face and emotion; with_personality: then the
    listener's personality (zeros where unknown) and whether it is known."""
    parts = (pair.speaker[window], pair.listener_face[window], pair.listener_emotion[window])
    if not with_personality:
        return parts
    return (*parts, *personality_input(pair.listener_personality))


def random_windows(pairs: list[PairArrays], indices: list[int], seeds: list[int], length: int,
                   device: torch.device, with_personality: bool = False) -> tuple[torch.Tensor, ...]:
    """(B, length, ...) speaker features, listener face, listener emotion (and window_arrays's
    personality); windows start where each item's seed says, so a resumed run draws the same windows."""
    parts = []
    for index, seed in zip(indices, seeds):
        pair = pairs[index % len(pairs)]
        sl, _ = draw_window(seed, len(pair.speaker), length)
        parts.append(window_arrays(pair, sl, with_personality))
    return tuple(torch.from_numpy(np.stack(x)).to(device) for x in zip(*parts))


class SavedBaseline(nn.Module):
    """safetensors + JSON folders for a baseline whose config dataclass holds its FeatureStats."""

    kind: str
    config_type: type
    personal = False  # whether it can be told who listens (a BeLFusion trained --personal says so)

    def __init__(self, config) -> None:
        super().__init__()
        self.config = config

    @property
    def stats(self) -> FeatureStats:
        return self.config.stats

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        save_model(folder, self, self.kind, {self.kind: asdict(self.config), **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path):
        state, config = load_model_files(folder, cls.kind)
        model = cls(config_from_dict(cls.config_type, config.get(cls.kind), Path(folder) / CONFIG_FILE))
        load_weights(model, state, folder)
        return model.eval()


class ReactionSampler(Protocol):
    stats: FeatureStats

    def sample(self, speaker: torch.Tensor, samples: int, rng: torch.Generator
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(T, speaker_dim) -> faces (K, T, FACE_DIM) in corpus units, emotions (K, T, EMOTION_DIM)."""
        ...


def _sample(model: ReactionSampler, speaker: torch.Tensor, samples: int, seed: int,
            personality: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
    """model.sample, told the listener's personality where one is given (a personal BeLFusion)."""
    rng = torch.Generator().manual_seed(seed)
    if personality is None:
        return model.sample(speaker, samples, rng)
    return model.sample(speaker, samples, rng, personality=torch.from_numpy(np.asarray(personality, np.float32)))


def _speaker(model: ReactionSampler, pair: RawPair, frames: int | None = None) -> torch.Tensor:
    cut = slice(frames)
    return torch.from_numpy(model.stats.speaker(pair.speaker_audio[cut], pair.speaker_face[cut],
                                                pair.speaker_emotion[cut]))


@torch.no_grad()
def predict_split(model: ReactionSampler, root: str | Path, split: str, samples: int = 10, seed: int = 0,
                  progress: bool = True, personal: bool = False) -> dict[str, np.ndarray]:
    """pred (N, K, T, EMOTION_DIM) and pred_face (N, K, T, FACE_DIM), like `facereact generate`;
    row k is seeded with seed + k. personal: a personal model told each listener's personality
    (unknown where the split gives none)."""
    check_fits(model.stats.fps, model.stats.audio_feature, root, "this baseline")
    if is_mars(root):
        raise UsageError(f"{root} is a MARS corpus: its clips differ in length (predict_mars)")
    raw = load_raw_pairs(root, split, progress)
    t = min(CLIP_FRAMES, *(p.frames for p in raw))
    emotions, faces = [], []
    for k, p in enumerate(tqdm(raw, desc=f"predict {split}", disable=not progress, leave=False)):
        who = p.listener_personality if personal else None
        face, emotion = _sample(model, _speaker(model, p, t), samples, seed + k, who)
        faces.append(face.numpy())
        emotions.append(emotion.numpy())
    return {"pred": np.stack(emotions).astype(np.float32), "pred_face": np.stack(faces).astype(np.float32),
            **provenance(root, split)}


@torch.no_grad()
def predict_mars(model: ReactionSampler, root: str | Path, split: str, samples: int = 10, seed: int = 0,
                 progress: bool = True, faces: dict | None = None, personal: bool = False) -> dict[str, np.ndarray]:
    """{input clip name: (K, T, EMOTION_DIM)} for every clip of a MARS split with a partner, each
    reaction as long as the pair (as generator/generate.py's generate_mars); input i of
    MarsCorpus.inputs() is seeded with seed + i. faces: a dict to receive the faces too; personal:
    as predict_split's."""
    check_fits(model.stats.fps, model.stats.audio_feature, root, "this baseline")
    out = {}
    for i, p in enumerate(tqdm(load_raw_pairs(root, split, False), desc=f"predict {split}", disable=not progress,
                               leave=False)):
        who = p.listener_personality if personal else None
        face, emotion = _sample(model, _speaker(model, p), samples, seed + i, who)
        out[p.name] = emotion.numpy().astype(np.float32)
        if faces is not None:
            faces[p.name] = face.numpy().astype(np.float32)
    return out
