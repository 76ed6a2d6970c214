"""Clip pairs with tokens, for training and generation: speaker features, both persons' tokens."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from facereact.data.corpus import ReactCorpus
from facereact.data.mars import MarsCorpus, is_mars
from facereact.errors import DataError
from facereact.tokenizer.model import FaceTokenizer


@dataclass
class TokenizedPair:
    speaker_audio: np.ndarray  # (T, AUDIO_DIM)
    speaker_face: np.ndarray  # (T, FACE_DIM)
    speaker_emotion: np.ndarray  # (T, EMOTION_DIM)
    speaker_tokens: np.ndarray  # (T,)
    listener_tokens: np.ndarray  # (T,)
    listener_face: np.ndarray
    listener_emotion: np.ndarray
    name: str = ""  # MARS: the input clip's name, which keys its reactions in a prediction file
    # The listener's Big Five in [0, 1] (layout.PERSONALITY_NAMES; MARS 2026's files, or a REACT
    # 2024-layout corpus's personality.csv: data/personality.py), None where not given
    listener_personality: np.ndarray | None = None


def split_personalities(root: str | Path, split: str) -> int:
    """How many people the split's personality files give (REACT 2024 layout: `<split>/
    personality.csv`, ours; MARS 2026: `personality/{speaker,listener}.csv`); 0 without any."""
    corpus = MarsCorpus(root, split) if is_mars(root) else ReactCorpus(root, split)
    return len(corpus.personality())


def require_personalities(root: str | Path, split: str) -> None:
    """A DataError naming the split unless it gives some listener a personality: a personal
    generator told no one is the generic one, and its "personal" figures would say otherwise."""
    if not split_personalities(root, split):
        where = Path(root) / split
        raise DataError(where, "no listener here has a personality (personality.csv, or MARS's personality/"
                               "listener.csv), so a personal generator cannot be told who listens")


@torch.no_grad()
def load_tokenized_pairs(root: str | Path, split: str, tokenizer: FaceTokenizer, frames: int | None = None,
                         progress: bool = True) -> list[TokenizedPair]:
    """Every pair of a split in mirrored order (MARS: every clip with a partner, as the input of
    one pair); each person clip is tokenized once."""
    tokens: dict = {}

    def tokens_of(clip, face):
        if clip not in tokens:  # a copy of the face in (it may be a read-only map), int32 tokens out
            tokens[clip] = tokenizer.encode(torch.tensor(np.asarray(face))[None])[0].numpy().astype(np.int32)
        return tokens[clip]

    if is_mars(root):
        return _mars_pairs(MarsCorpus(root, split), tokens_of, progress)
    corpus = ReactCorpus(root, split, clip_frames=frames)
    personality = corpus.personality()

    pairs = []
    for i in tqdm(range(len(corpus)), desc=f"load {split}", disable=not progress, leave=False):
        p = corpus.load_pair(i)
        pairs.append(TokenizedPair(p.speaker_audio, p.speaker_face, p.speaker_emotion,
                                   tokens_of(p.ref.speaker, p.speaker_face), tokens_of(p.ref.listener, p.listener_face),
                                   p.listener_face, p.listener_emotion,
                                   listener_personality=personality.get(p.ref.listener.person)))
    return pairs


def _mars_pairs(corpus: MarsCorpus, tokens_of, progress: bool) -> list[TokenizedPair]:
    """Pairs of a MARS split: the speaker hears wav2vec2 features; lengths trimmed to the shorter.
    Every array but the tokens stays a read-only memory map (training copies one window at a
    time), so memory does not grow with the corpus: a release's wav2vec2 features (768 floats a
    frame) can be larger than memory; the tokens are 4 bytes a frame."""
    pairs = []
    personality = corpus.personality()
    for clip in tqdm(corpus.inputs(), desc=f"load {corpus.split}", disable=not progress, leave=False):
        other = clip.partner
        audio, face, emotion, listener_face, listener_emotion = corpus.pair_arrays(clip)
        t = len(audio)  # each clip tokenized whole (once, as the speaker and as the listener), then cut
        pairs.append(TokenizedPair(audio, face, emotion, tokens_of(clip, corpus.coefficients(clip, True))[:t],
                                   tokens_of(other, corpus.coefficients(other, True))[:t], listener_face,
                                   listener_emotion, clip.name, personality.get((other.role, other.stem))))
    return pairs
