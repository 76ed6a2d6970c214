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
    """Mean and floored standard deviation of each channel over the frames of all (T, C) arrays.
    One pass in float64 blocks, never a concatenation: the arrays may be memory-mapped features
    larger than memory (MARS wav2vec2), and only one block is read in at a time."""
    count, total, squares, shift = 0, 0.0, 0.0, None
    for array in arrays:
        for start in range(0, len(array), _BLOCK):
            block = np.asarray(array[start:start + _BLOCK], np.float64)
            if shift is None and len(block):
                shift = block.mean(0)  # sums of (x - shift) keep their precision when |mean| >> spread
            block = block - shift
            count += len(block)
            total = total + block.sum(0)
            squares = squares + np.square(block).sum(0)
    if count == 0:
        raise ValueError("no frames to compute statistics over")
    shifted = total / count
    std = np.sqrt(np.maximum(squares / count - shifted ** 2, 0.0))  # clipped against rounding at 0
    return (shifted + shift).tolist(), np.maximum(std, floor).tolist()


_BLOCK = 8192  # frames read per step
