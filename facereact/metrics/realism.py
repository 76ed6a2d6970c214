"""A realism figure that needs no renderer: Fréchet distance between window statistics of generated
and real sequences. It is NOT the challenge's FRRea (Inception features of rendered faces) and is
reported under its own name, FRFD."""
from __future__ import annotations

import numpy as np

from facereact.layout import FPS

WINDOW = FPS  # 1 s windows
STRIDE = FPS // 2


def window_features(seqs: np.ndarray, window: int = WINDOW, stride: int = STRIDE) -> np.ndarray:
    """(..., T, D) -> (M, 3 D): per window the mean, standard deviation and mean |velocity|."""
    flat = seqs.reshape(-1, *seqs.shape[-2:])
    # A few sequences at a time keeps the float64 temporaries in cache.
    return np.concatenate([_window_features(flat[s:s + 16], window, stride) for s in range(0, len(flat), 16)])


def _window_features(seqs: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Window sums come from cumulative sums: O(T) per sequence whatever the window."""
    x = seqs.astype(np.float64)
    t, d = x.shape[1:]
    if t < window:
        window, stride = t, t
    offset = x.mean(axis=1, keepdims=True)
    x = x - offset  # centre each sequence: running sums of squares then lose less precision
    starts = np.arange(0, t - window + 1, stride)

    def window_sums(v: np.ndarray, length: int) -> np.ndarray:
        c = np.concatenate([np.zeros((v.shape[0], 1, d)), np.cumsum(v, axis=1)], axis=1)
        return c[:, starts + length] - c[:, starts]

    mean = window_sums(x, window) / window
    var = np.clip(window_sums(x * x, window) / window - mean ** 2, 0, None)
    mean += offset
    speed = window_sums(np.abs(np.diff(x, axis=1)), window - 1) / (window - 1)
    return np.concatenate([mean, np.sqrt(var), speed], axis=-1).reshape(-1, 3 * d)


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
