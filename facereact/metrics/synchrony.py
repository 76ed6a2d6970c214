"""FRSyn: time-lagged cross-correlation between generated reactions and the speaker (metrics.md).

For lags -49..49 the reference shifts the two sequences against each other, takes the Pearson
correlation per column and averages the columns; the peak lag gives offset = 49 - argmax and the
figure is |offset| averaged. Official mode keeps its quirks: only sample 0 is scored, and a column
that is constant in either window makes that lag NaN, which numpy's argmax picks first (so a
sequence with a constant column scores 49). Corrected mode scores all K samples and leaves constant
columns out of the column mean; a sample with no usable column at any lag scores 49. Lags that
leave fewer than 2 frames (clips shorter than 2 s) are NaN, as the reference's empty windows are.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from facereact.layout import FPS

MAX_LAG = 2 * FPS - 1  # 2 s at 25 fps, minus one: lags -49..49


@njit(cache=True, nogil=True)
def _change_counts(x):
    """counts[t, c] = number of frames u in 1..t where column c changes value."""
    t, d = x.shape
    counts = np.zeros((t, d), np.int64)
    for u in range(1, t):
        for c in range(d):
            counts[u, c] = counts[u - 1, c] + (x[u, c] != x[u - 1, c])
    return counts


@njit(cache=True, nogil=True)
def _prefix(x):
    """Prefix sums of x and x^2 after removing each column's mean (less cancellation)."""
    t, d = x.shape
    xc = x.copy()
    for c in range(d):
        xc[:, c] -= x[:, c].mean()
    s1 = np.zeros((t + 1, d))
    s2 = np.zeros((t + 1, d))
    for u in range(t):
        for c in range(d):
            s1[u + 1, c] = s1[u, c] + xc[u, c]
            s2[u + 1, c] = s2[u, c] + xc[u, c] * xc[u, c]
    return xc, s1, s2


@njit(cache=True, nogil=True)
def lag_correlations(x, y, max_lag, official):
    """Column-mean Pearson correlation of x against y at each lag -max_lag..max_lag (NaN = undefined)."""
    t, d = x.shape
    cx = _change_counts(x)
    cy = _change_counts(y)
    xc, x1, x2 = _prefix(x)
    yc, y1, y2 = _prefix(y)
    out = np.empty(2 * max_lag + 1)
    for li in range(2 * max_lag + 1):
        lag = li - max_lag
        n = t - abs(lag)
        if n < 2:  # the reference correlates empty or one-frame windows: NaN
            out[li] = np.nan
            continue
        xs = lag if lag > 0 else 0  # x window start (x = pred[lag:] for lag > 0)
        ys = 0 if lag > 0 else -lag
        total = 0.0
        used = 0
        undefined = False
        for c in range(d):
            constant = (cx[xs + n - 1, c] - cx[xs, c] == 0) or (cy[ys + n - 1, c] - cy[ys, c] == 0)
            if constant:
                if official:
                    undefined = True
                    break
                continue
            sx = x1[xs + n, c] - x1[xs, c]
            sy = y1[ys + n, c] - y1[ys, c]
            sxx = x2[xs + n, c] - x2[xs, c] - sx * sx / n
            syy = y2[ys + n, c] - y2[ys, c] - sy * sy / n
            sxy = 0.0
            for u in range(n):
                sxy += xc[xs + u, c] * yc[ys + u, c]
            sxy -= sx * sy / n
            r = sxy / np.sqrt(sxx * syy)
            total += min(1.0, max(-1.0, r))
            used += 1
        out[li] = np.nan if (undefined or used == 0) else total / used
    return out


@njit(cache=True, parallel=True)
def _offsets(pred, speaker, rows, samples, max_lag, official, out):
    for q in prange(rows.shape[0]):
        r = lag_correlations(pred[rows[q], samples[q]], speaker[rows[q]], max_lag, official)
        peak = -1
        for li in range(r.shape[0]):
            if np.isnan(r[li]):
                if official:  # numpy's argmax returns the first NaN
                    peak = li
                    break
                continue
            if peak < 0 or r[li] > r[peak]:
                peak = li
        out[q] = abs(max_lag - peak) if peak >= 0 else max_lag


def sync_offsets(pred: np.ndarray, speaker: np.ndarray, all_samples: bool = False,
                 skip_constant: bool = False) -> np.ndarray:
    """(N, S) |offset| per scored sample: S = 1 (sample 0, the leaderboard path) or K (all_samples).

    skip_constant=False keeps the reference's NaN quirk; True leaves constant columns out.
    """
    n, k = pred.shape[:2]
    samples = k if all_samples else 1
    rows = np.repeat(np.arange(n), samples)
    sample_idx = np.tile(np.arange(samples), n)
    out = np.empty(len(rows))
    # Only the scored samples are widened: the leaderboard path needs a tenth of the array.
    _offsets(pred[:, :samples].astype(np.float64), speaker.astype(np.float64), rows, sample_idx, MAX_LAG,
             not skip_constant, out)
    return out.reshape(n, samples)


def frsyn(pred: np.ndarray, speaker: np.ndarray, mode: str = "official") -> float:
    """Mean |offset|: official = sample 0 with the NaN quirk; corrected = all samples, no quirk."""
    corrected = mode == "corrected"
    return float(sync_offsets(pred, speaker, all_samples=corrected, skip_constant=corrected).mean())
