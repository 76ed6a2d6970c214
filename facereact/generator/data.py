"""Clip pairs with tokens, for training and generation: speaker features, both persons' tokens."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from facereact.data.corpus import ReactCorpus
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


@torch.no_grad()
def load_tokenized_pairs(root: str | Path, split: str, tokenizer: FaceTokenizer, frames: int | None = None,
                         progress: bool = True) -> list[TokenizedPair]:
    """Every pair of a split in mirrored order; each person clip is tokenized once."""
    corpus = ReactCorpus(root, split, clip_frames=frames)
    tokens: dict = {}

    def tokens_of(clip, face):
        if clip not in tokens:
            tokens[clip] = tokenizer.encode(torch.from_numpy(face)[None])[0].numpy()
        return tokens[clip]

    pairs = []
    for i in tqdm(range(len(corpus)), desc=f"load {split}", disable=not progress, leave=False):
        p = corpus.load_pair(i)
        pairs.append(TokenizedPair(p.speaker_audio, p.speaker_face, p.speaker_emotion,
                                   tokens_of(p.ref.speaker, p.speaker_face), tokens_of(p.ref.listener, p.listener_face),
                                   p.listener_face, p.listener_emotion))
    return pairs
