"""The challenge's rule-based baselines on MARS clips of any length (REACT 2025/2026).

Random, Mime, MeanSeq, MeanFr and the ground truth as in `rule_based.py`, for variable-length
inputs: every prediction is as long as its input. MeanSeq's per-frame mean runs over the training
clips of the reacting role that reach each frame (past the longest one its last mean repeats);
MeanFr is their global mean.
"""
from __future__ import annotations

import numpy as np

from facereact.baselines.rule_based import RULE_BASED
from facereact.data.mars import ROLES, MarsClip, MarsCorpus
from facereact.layout import EMOTION_DIM


def per_frame_means(train: MarsCorpus) -> dict[str, np.ndarray]:
    """{role: (longest T, 25) mean over the role's training clips of each frame}."""
    out = {}
    for role in ROLES:
        clips = [train.attributes(c) for c in train.clips if c.role == role]
        longest = max(len(c) for c in clips)
        total, count = np.zeros((longest, EMOTION_DIM)), np.zeros((longest, 1))
        for c in clips:
            total[:len(c)] += c
            count[:len(c)] += 1
        out[role] = (total / count).astype(np.float32)
    return out


def mars_rule_based(name: str, corpus: MarsCorpus, inputs: list[MarsClip], means: dict[str, np.ndarray],
                    k: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """{input clip name: (K, T, 25)} for one baseline."""
    if name not in RULE_BASED:
        raise ValueError(f"unknown baseline '{name}', expected one of {RULE_BASED}")
    rng = np.random.default_rng(seed)
    out = {}
    for clip in inputs:
        t = len(corpus.attributes(clip))
        mean = means[clip.partner.role]
        if name == "GroundTruth":
            one = corpus.attributes(clip.partner)[:t]
        elif name == "Random":
            out[clip.name] = rng.random((k, t, EMOTION_DIM), dtype=np.float32)
            continue
        elif name == "Mime":
            one = corpus.attributes(clip)
        elif name == "MeanSeq":
            one = mean[np.minimum(np.arange(t), len(mean) - 1)]
        else:  # MeanFr
            one = np.broadcast_to(mean.mean(0), (t, EMOTION_DIM))
        out[clip.name] = np.ascontiguousarray(np.broadcast_to(one, (k, t, EMOTION_DIM)), dtype=np.float32)
    return out
