"""Per-channel normalisation statistics, the one way every model computes them.

A channel that barely moves in training (a blendshape the corpus never uses, a still head's
translation) would be blown up by dividing by its tiny spread; each feature kind has a floor.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FACE_STD_FLOOR = 1e-2  # 3DMM channels in corpus units: blendshapes 0..1, head pose in radians
AUDIO_STD_FLOOR = 1e-3  # MFCC coefficients vary over orders of magnitude; only a dead one is floored
EMOTION_STD_FLOOR = 0.05  # an emotion column that is almost never on is not weighted up without bound


def mean_std(arrays: Sequence[np.ndarray], floor: float) -> tuple[list[float], list[float]]:
    """Mean and floored standard deviation of each channel over the frames of all (T, C) arrays."""
    frames = np.concatenate(list(arrays))
    return frames.mean(0).tolist(), np.maximum(frames.std(0), floor).tolist()
