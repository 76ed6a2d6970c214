"""A realism figure that needs no renderer: Fréchet distance between window statistics of generated
and real sequences. It is NOT the challenge's FRRea (Inception features of rendered faces) and is
reported under its own name, FRFD."""
from __future__ import annotations

import numpy as np
from numba import njit

from facereact.layout import FPS

WINDOW = FPS  # 1 s windows
STRIDE = FPS // 2


def window_features(seqs: np.ndarray, window: int = WINDOW, stride: int = STRIDE) -> np.ndarray:
    """(..., T, D) -> (M, 3 D): per window the mean, standard deviation and mean |velocity|."""
    flat = seqs.reshape(-1, *seqs.shape[-2:])
    t, d = flat.shape[1:]
    if t < window:
        window, stride = t, t
    starts = np.arange(0, t - window + 1, stride)
    out = np.empty((len(flat), len(starts), 3 * d))
    _window_features(flat, window, starts, out)  # compiled: one pass, no float64 copy of the input
    return out.reshape(-1, 3 * d)


@njit(cache=True)
def _window_features(seqs, window, starts, out):
    """Window sums come from running sums: O(T) per sequence whatever the window. Frames outer,
    columns inner: the frames are read in memory order and the column loops vectorise."""
    n, t, d = seqs.shape
    sums = np.zeros((3, t + 1, d))
    offset = np.empty(d)
    for s in range(n):
        seq = seqs[s]
        offset[:] = 0.0
        for i in range(t):
            for c in range(d):
                offset[c] += seq[i, c]
        for c in range(d):
            offset[c] /= t  # centre each column: running sums of squares then lose less precision
        for i in range(t):
            for c in range(d):
                x = seq[i, c] - offset[c]
                sums[0, i + 1, c] = sums[0, i, c] + x
                sums[1, i + 1, c] = sums[1, i, c] + x * x
                step = abs(x - (seq[i - 1, c] - offset[c])) if i > 0 else 0.0
                sums[2, i + 1, c] = sums[2, i, c] + step
        for w in range(starts.shape[0]):
            a = starts[w]
            for c in range(d):
                mean = (sums[0, a + window, c] - sums[0, a, c]) / window
                var = max((sums[1, a + window, c] - sums[1, a, c]) / window - mean * mean, 0.0)
                out[s, w, c] = mean + offset[c]
                out[s, w, d + c] = np.sqrt(var)
                # |velocity| over the window - 1 steps inside it: steps a + 1 .. a + window - 1
                out[s, w, 2 * d + c] = (sums[2, a + window, c] - sums[2, a + 1, c]) / (window - 1)


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of a and b."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    # Population covariance: K repeated copies of the real set are then exactly the real statistics.
    cov_a, cov_b = np.cov(a, rowvar=False, bias=True), np.cov(b, rowvar=False, bias=True)
    root_a = _sqrtm_psd(cov_a)
    # Tr sqrt(A B) = Tr sqrt(A^1/2 B A^1/2), which is symmetric and PSD: no complex sqrtm needed.
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    distance = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross
    return float(max(distance, 0.0))  # rounding in the eigenvalues can dip just below 0


def frfd(pred: np.ndarray, real: np.ndarray) -> float:
    """Fréchet distance of 1 s window statistics, generated (N, K, T, D) vs real (N, T, D)."""
    return frechet_distance(window_features(pred), window_features(real))
