"""Whole clips of a split stacked for evaluation, and the training statistics baselines need."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facereact.data.corpus import ReactCorpus


@dataclass
class EvalSet:
    """Row k = pair k of the split's mirrored order; all clips cut to the same T frames."""

    speaker_emotion: np.ndarray  # (N, T, EMOTION_DIM)
    speaker_face: np.ndarray  # (N, T, FACE_DIM)
    listener_emotion: np.ndarray
    listener_face: np.ndarray
    neighbour: np.ndarray | None = None  # (N, N) bool, for evaluation splits
    recorded_frames: int = 0  # the shortest pair's frames before the cut to T


def load_eval_set(root: str | Path, split: str, frames: int, with_neighbours: bool = True) -> EvalSet:
    corpus = ReactCorpus(root, split, clip_frames=frames)
    pairs = [corpus.load_pair(i, with_audio=False) for i in range(len(corpus))]
    return EvalSet(np.stack([p.speaker_emotion for p in pairs]), np.stack([p.speaker_face for p in pairs]),
                   np.stack([p.listener_emotion for p in pairs]), np.stack([p.listener_face for p in pairs]),
                   corpus.neighbours() if with_neighbours else None, min(p.recorded_frames for p in pairs))
