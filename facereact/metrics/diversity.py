"""FRDiv, FRVar, FRDvs: how much the generated reactions differ (metrics.md)."""
from __future__ import annotations

import numpy as np


def _pairwise_sq_sum(x: np.ndarray) -> np.ndarray:
    """Sum over ordered pairs (a, b) of |x_a - x_b|^2 along axis -2, for vectors on axis -1.

    Uses the identity sum_ab |x_a - x_b|^2 = 2 M sum_a |x_a - mean|^2 (M vectors), which avoids the
    M^2 pairs and the cancellation of the |a|^2 + |b|^2 - 2ab form.
    """
    m = x.shape[-2]
    centered = x - x.mean(axis=-2, keepdims=True)
    return 2.0 * m * (centered * centered).sum(axis=(-2, -1))


def frdiv(pred: np.ndarray) -> float:
    """Diversity among one speaker's K samples (S-MSE), averaged over speakers."""
    n, k, t, d = pred.shape
    if k < 2:
        return 0.0
    flat = pred.reshape(n, k, t * d)
    # A few speakers at a time: float64 temporaries stay small and in cache.
    per_speaker = np.concatenate([_pairwise_sq_sum(flat[s:s + 8].astype(np.float64)) for s in range(0, n, 8)])
    return float((per_speaker / (k * (k - 1) * t * d)).mean())


def frvar(pred: np.ndarray) -> float:
    """Mean over N, K and columns of the unbiased variance along time."""
    n = pred.shape[0]
    per_speaker = [pred[s:s + 8].astype(np.float64).var(axis=2, ddof=1).sum() for s in range(0, n, 8)]
    return float(sum(per_speaker) / (pred.size / pred.shape[2]))


def frdvs(pred: np.ndarray) -> float:
    """Diversity across speakers, for each sample index, averaged."""
    n, k, t, d = pred.shape
    if n < 2:
        return 0.0
    total = sum(float(_pairwise_sq_sum(pred[:, i].reshape(n, t * d).astype(np.float64))) for i in range(k))
    return total / (n * (n - 1) * k) / (t * d)
