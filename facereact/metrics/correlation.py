"""FRCorr: concordance of each generated reaction with its best appropriate real reaction."""
from __future__ import annotations

import numpy as np
from tqdm import tqdm

from facereact.metrics.inputs import MetricInputs


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-column mean, population variance and centered values along the time axis (-2)."""
    x = x.astype(np.float64)
    mean = x.mean(axis=-2)
    centered = x - mean[..., None, :]
    return mean, (centered * centered).mean(axis=-2), centered


def ccc_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CCC of every (T, D) sequence in `a` (A, T, D) with every one in `b` (B, T, D) -> (A, B).

    Column CCC = 2 cov / (var_a + var_b + (mean_a - mean_b)^2 + 1e-8), averaged over columns.
    2 cov equals the reference's 2 r sd_a sd_b; a constant column has zero centered values, so it
    contributes 0, as the reference's NaN -> 0 does.
    """
    mean_a, var_a, ca = _moments(a)
    mean_b, var_b, cb = _moments(b)
    t = a.shape[-2]
    # (D, A, T) @ (D, T, B) -> (D, A, B): one BLAS call per column.
    cov = np.matmul(ca.transpose(2, 0, 1), cb.transpose(2, 1, 0)) / t
    denom = var_a.T[:, :, None] + var_b.T[:, None, :] + (mean_a.T[:, :, None] - mean_b.T[:, None, :]) ** 2 + 1e-8
    return (2.0 * cov / denom).mean(axis=0)


def best_ccc(inputs: MetricInputs, progress: bool = False) -> np.ndarray:
    """(N, K) CCC of each sample with its best neighbour's real listener reaction."""
    n, k = inputs.pred.shape[:2]
    out = np.empty((n, k))
    for row in tqdm(range(n), desc="FRCorr", disable=not progress, leave=False):
        neighbours = np.flatnonzero(inputs.neighbour[row])
        out[row] = ccc_matrix(inputs.pred[row], inputs.listener_gt[neighbours]).max(axis=1)
    return out


def frcorr(inputs: MetricInputs, progress: bool = False) -> float:
    """Sum over the K samples of the best CCC, averaged over speakers (range [-K, K])."""
    return float(best_ccc(inputs, progress).sum(axis=1).mean())
