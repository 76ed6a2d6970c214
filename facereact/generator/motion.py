"""When each face region of the listener is moving: the label of the speaker stream's auxiliary
motion head (generator/training.py).

Next-token cross-entropy barely rewards a small reaction: a nod changes a digit or two of a few
tokens, and, teacher-forced, the listener's own past explains a nod once it has started, so the
speaker saves almost nothing on it (0.02 nats a frame on the demo corpus, docs/generator.md). The
expected head pitch after a pause is flat (a nod's phase is unpredictable), so an L1 on the face
would learn nothing either. Whether the head is moving is predictable: the head learns, as a
probability, when each region of the listener is in motion, and the decoder reads it through
cross-attention.
"""
from __future__ import annotations

import numpy as np

from facereact.layout import MOTION_GROUPS

SMOOTH_S = 0.3  # motion energy is averaged over this long (a nod's half cycle and a bit)
ACTIVE_SHARE = 0.2  # a region is "moving" in the training frames where its energy is in the top 20%


def region_motion(face: np.ndarray, face_std: np.ndarray, fps: float) -> np.ndarray:
    """(T, FACE_DIM) face -> (T, MOTION_DIM): each region's mean squared frame-to-frame change, in
    units of each channel's spread, averaged over SMOOTH_S centred on the frame. Squared, so that a
    nod's swing stands out from slow drift and small jitter."""
    change = np.square(np.diff(np.asarray(face, np.float64), axis=0, prepend=face[:1]) / face_std)
    regions = np.stack([change[:, s].mean(1) for s in MOTION_GROUPS.values()], axis=1)
    width = max(1, int(round(SMOOTH_S * fps)))
    padded = np.pad(regions, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
    sums = np.cumsum(np.pad(padded, ((1, 0), (0, 0))), axis=0)
    return (sums[width:] - sums[:-width]) / width


def motion_labels(faces: list[np.ndarray], face_std: np.ndarray, fps: float,
                  threshold: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """1.0 where a region's region_motion is above `threshold` (MOTION_DIM,), by default the
    level ACTIVE_SHARE of these clips' frames exceed, else 0.0; returns the labels and the
    threshold (training's, to apply to validation)."""
    motion = [region_motion(f, face_std, fps) for f in faces]
    if threshold is None:
        threshold = np.quantile(np.concatenate(motion), 1.0 - ACTIVE_SHARE, axis=0)
    return [(m > threshold).astype(np.float32) for m in motion], threshold
