"""Random, Mime, MeanSeq, MeanFr and ground truth, as the challenge defines them (docs/baselines.md).

Each returns emotion predictions (N, K, T, EMOTION_DIM) in the corpus's mirrored row order and,
where the definition carries over, 3DMM predictions (N, K, T, FACE_DIM) for rendering.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facereact.data.eval_set import EvalSet
from facereact.layout import EMOTION_DIM, FACE_DIM

RULE_BASED = ("GroundTruth", "Random", "Mime", "MeanSeq", "MeanFr")


@dataclass
class TrainStats:
    """What MeanSeq and MeanFr need from the training listeners."""

    emotion_per_frame: np.ndarray  # (T, EMOTION_DIM): mean over training sequences at each frame
    face_per_frame: np.ndarray  # (T, FACE_DIM)

    @classmethod
    def from_sequences(cls, emotion: np.ndarray, face: np.ndarray) -> "TrainStats":
        """emotion (M, T, EMOTION_DIM), face (M, T, FACE_DIM) of training listeners."""
        return cls(emotion.mean(0), face.mean(0))

    @classmethod
    def from_eval_set(cls, train: EvalSet) -> "TrainStats":
        return cls.from_sequences(train.listener_emotion, train.listener_face)


@dataclass
class Predictions:
    emotion: np.ndarray  # (N, K, T, EMOTION_DIM)
    face: np.ndarray | None  # (N, K, T, FACE_DIM) or None


def _repeat(x: np.ndarray, n: int, k: int) -> np.ndarray:
    """(T, D) or (N, T, D) -> (N, K, T, D)."""
    if x.ndim == 2:
        x = np.broadcast_to(x, (n,) + x.shape)
    return np.ascontiguousarray(np.broadcast_to(x[:, None], (n, k) + x.shape[1:]))


def rule_based(name: str, data: EvalSet, stats: TrainStats, k: int = 10, seed: int = 0) -> Predictions:
    n, t, _ = data.listener_emotion.shape
    if name == "GroundTruth":  # the real listener, K times
        return Predictions(_repeat(data.listener_emotion, n, k), _repeat(data.listener_face, n, k))
    if name == "Random":  # uniform [0, 1) on every emotion column
        rng = np.random.default_rng(seed)
        return Predictions(rng.random((n, k, t, EMOTION_DIM), dtype=np.float32), None)
    if name == "Mime":  # the speaker's own behaviour
        return Predictions(_repeat(data.speaker_emotion, n, k), _repeat(data.speaker_face, n, k))
    if name == "MeanSeq":  # the per-frame mean of the training sequences
        return Predictions(_repeat(stats.emotion_per_frame[:t], n, k), _repeat(stats.face_per_frame[:t], n, k))
    if name == "MeanFr":  # one global mean vector, repeated over time
        emotion = np.broadcast_to(stats.emotion_per_frame.mean(0), (t, EMOTION_DIM))
        face = np.broadcast_to(stats.face_per_frame.mean(0), (t, FACE_DIM))
        return Predictions(_repeat(emotion, n, k), _repeat(face, n, k))
    raise ValueError(f"unknown baseline '{name}', expected one of {RULE_BASED}")
