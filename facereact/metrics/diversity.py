"""FRDiv, FRVar, FRDvs: how much the generated reactions differ (metrics.md).

All three come from one compiled pass over the predictions as they are (float32, no float64 copy):
per speaker the spread of its K reactions about their mean, per reaction the variance along time,
and per sample index running sums across speakers. Sums of squared differences use the identity
sum_ab |x_a - x_b|^2 = 2 M sum_a |x_a - mean|^2 (M vectors), which avoids the M^2 pairs; sums
across time and across speakers are taken about a shift (the first frame, the first speaker's
value) so that float64 keeps the precision when values sit far from zero.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange


class Spread(NamedTuple):
    frdiv: float  # 0 when K < 2 (no pairs)
    frvar: float
    frdvs: float  # 0 when N < 2


def spread(pred: np.ndarray) -> Spread:
    """FRDiv, FRVar and FRDvs of (N, K, T, D) reactions, in one pass."""
    n, k, t, d = pred.shape
    parts = max(1, min(n, 2))  # speakers split in two: one per core, each with its own across-sums
    within, variance = np.empty(n), np.empty(n)
    across_sum = np.zeros((parts, k, t, d))
    across_sq = np.zeros((parts, k, t, d))
    _spread_sums(pred, within, variance, across_sum, across_sq)
    s1, s2 = across_sum.sum(0), across_sq.sum(0)
    across = float((s2 - s1 * s1 / n).sum())  # sum over (k, t, d) of sum_n (x - mean_n)^2
    frdiv = float((2.0 * k * within / (k * (k - 1) * t * d)).mean()) if k > 1 else 0.0
    frdvs = 2.0 * n * across / (n * (n - 1) * k) / (t * d) if n > 1 else 0.0
    return Spread(frdiv, float(variance.sum() / (n * k * d)), frdvs)


@njit(cache=True, parallel=True)
def _spread_sums(pred, within, variance, across_sum, across_sq):
    """within[n]: sum over (t, d) of sum_k (x - mean_k)^2; variance[n]: sum over (k, d) of the
    unbiased variance along t; across_*[part]: sums of (x - x[0]) and its square over that part's
    speakers, per (k, t, d)."""
    n, k, t, d = pred.shape
    parts = across_sum.shape[0]
    for part in prange(parts):
        s1 = across_sum[part]
        s2 = across_sq[part]
        for s in range(part * n // parts, (part + 1) * n // parts):
            acc = 0.0
            for i in range(t):
                for c in range(d):
                    m = 0.0
                    for r in range(k):
                        m += pred[s, r, i, c]
                    m /= k
                    for r in range(k):
                        e = pred[s, r, i, c] - m
                        acc += e * e
            within[s] = acc
            v = 0.0
            for r in range(k):
                for c in range(d):
                    shift = np.float64(pred[s, r, 0, c])
                    a = 0.0
                    b = 0.0
                    for i in range(t):
                        e = pred[s, r, i, c] - shift
                        a += e
                        b += e * e
                    v += (b - a * a / t) / (t - 1)
            variance[s] = v
            for r in range(k):
                for i in range(t):
                    for c in range(d):
                        e = np.float64(pred[s, r, i, c]) - pred[0, r, i, c]
                        s1[r, i, c] += e
                        s2[r, i, c] += e * e


def frdiv(pred: np.ndarray) -> float:
    """Diversity among one speaker's K samples (S-MSE), averaged over speakers."""
    return spread(pred).frdiv


def frvar(pred: np.ndarray) -> float:
    """Mean over N, K and columns of the unbiased variance along time."""
    return spread(pred).frvar


def frdvs(pred: np.ndarray) -> float:
    """Diversity across speakers, for each sample index, averaged."""
    return spread(pred).frdvs
