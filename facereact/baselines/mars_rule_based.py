"""The challenge's rule-based baselines on MARS clips of any length (REACT 2025/2026).

Random, Mime, MeanSeq, MeanFr and the ground truth as in `rule_based.py`, for variable-length
inputs: every prediction is as long as its input. MeanSeq's per-frame mean runs over the training
clips of the reacting role that reach each frame (past the longest one its last mean repeats);
MeanFr is their global mean. "MeanSeq (session)", ours, takes that mean over the input's session
only: on MARS every clip of a session is an appropriate reaction, so the session's training
listeners are the prior a model must beat.
"""
from __future__ import annotations

import numpy as np

from facereact.baselines.rule_based import RULE_BASED
from facereact.data.mars import ROLES, MarsClip, MarsCorpus
from facereact.layout import EMOTION_DIM


# Ours, not the challenge's: MeanSeq over the input's own session's training clips (its prompt's
# listeners), the session prior an appropriate-by-session score rewards (docs/quality.md).
SESSION_MEAN_SEQ = "MeanSeq (session)"
MARS_RULE_BASED = (*RULE_BASED, SESSION_MEAN_SEQ)


def _per_frame(clips: list[np.ndarray]) -> np.ndarray:
    """(longest T, 25): each frame's mean over the clips that reach it."""
    longest = max(len(c) for c in clips)
    total, count = np.zeros((longest, EMOTION_DIM)), np.zeros((longest, 1))
    for c in clips:
        total[:len(c)] += c
        count[:len(c)] += 1
    return (total / count).astype(np.float32)


Means = dict[str | tuple[int, str], np.ndarray]  # per_frame_means's: by role, and by (session, role)


def per_frame_means(train: MarsCorpus) -> Means:
    """{role: (longest T, 25) mean over the role's training clips of each frame}, and {(session,
    role): the same over that session's training clips}."""
    out: Means = {role: _per_frame([train.attributes(c) for c in train.clips if c.role == role]) for role in ROLES}
    for session, roles in train.sessions().items():
        for role, clips in roles.items():
            if clips:
                out[(session, role)] = _per_frame([train.attributes(c) for c in clips])
    return out


def mars_rule_based(name: str, corpus: MarsCorpus, inputs: list[MarsClip], means: Means,
                    k: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """{input clip name: (K, T, 25)} for one baseline (MARS_RULE_BASED; the session's MeanSeq falls
    back to the role's where the training split has no clip of that session and role)."""
    if name not in MARS_RULE_BASED:
        raise ValueError(f"unknown baseline '{name}', expected one of {MARS_RULE_BASED}")
    rng = np.random.default_rng(seed)
    out = {}
    for clip in inputs:
        t = len(corpus.attributes(clip))
        mean = means[clip.partner.role]
        if name == SESSION_MEAN_SEQ:
            mean = means.get((clip.session, clip.partner.role), mean)
        if name == "GroundTruth":
            one = corpus.attributes(clip.partner)[:t]
        elif name == "Random":
            out[clip.name] = rng.random((k, t, EMOTION_DIM), dtype=np.float32)
            continue
        elif name == "Mime":
            one = corpus.attributes(clip)
        elif name in ("MeanSeq", SESSION_MEAN_SEQ):
            one = mean[np.minimum(np.arange(t), len(mean) - 1)]
        else:  # MeanFr
            one = np.broadcast_to(mean.mean(0), (t, EMOTION_DIM))
        out[clip.name] = np.ascontiguousarray(np.broadcast_to(one, (k, t, EMOTION_DIM)), dtype=np.float32)
    return out
