"""FRDist: the reference's DTW (square root of the minimal accumulated *squared* Euclidean cost, no
window) on three emotion column groups, minimised over appropriate real reactions.

Exact, but far less work than the reference's pair-by-pair loop:
- all three groups are accumulated in one sweep of the cost matrix (three independent dependency
  chains keep the CPU busy);
- neighbours are visited in order of a cheap lower bound (each frame's squared distance to the
  other sequence's per-column bounding box; warping cannot get closer than that) and skipped when
  that bound already exceeds the best distance so far;
- a DTW is abandoned as soon as the weighted row minima (every warping path crosses every row,
  and costs are non-negative) exceed the best distance so far.
Pruning only skips work whose result could not be the minimum, so the figure equals the reference's.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange
from tqdm import tqdm

from facereact.layout import EMOTION_GROUPS
from facereact.metrics.inputs import MetricInputs

GROUP_WEIGHTS = {"au": 1.0 / 15.0, "affect": 1.0, "expression": 1.0 / 8.0}
# Slack on the initial upper bound (a diagonal path), far above float64 rounding of the sums.
_UB_SLACK = 1.0 + 1e-9


def _group_arrays() -> tuple[np.ndarray, np.ndarray]:
    bounds = np.array([[EMOTION_GROUPS[g].start, EMOTION_GROUPS[g].stop] for g in GROUP_WEIGHTS], np.int64)
    return bounds, np.array(list(GROUP_WEIGHTS.values()), np.float64)


@njit(cache=True, nogil=True)
def _box_bound(a, b, bounds, weights):
    """Weighted lower bound on the grouped DTW of a and b from per-column bounding boxes."""
    t, d = a.shape
    lo_b = np.empty(d)
    hi_b = np.empty(d)
    lo_a = np.empty(d)
    hi_a = np.empty(d)
    for c in range(d):
        lo_b[c] = b[0, c]
        hi_b[c] = b[0, c]
        lo_a[c] = a[0, c]
        hi_a[c] = a[0, c]
        for i in range(1, t):
            lo_b[c] = min(lo_b[c], b[i, c])
            hi_b[c] = max(hi_b[c], b[i, c])
            lo_a[c] = min(lo_a[c], a[i, c])
            hi_a[c] = max(hi_a[c], a[i, c])
    total = 0.0
    for g in range(bounds.shape[0]):
        sa = 0.0
        sb = 0.0
        for i in range(t):
            for c in range(bounds[g, 0], bounds[g, 1]):
                x = a[i, c]
                e = lo_b[c] - x if x < lo_b[c] else (x - hi_b[c] if x > hi_b[c] else 0.0)
                sa += e * e
                y = b[i, c]
                e = lo_a[c] - y if y < lo_a[c] else (y - hi_a[c] if y > hi_a[c] else 0.0)
                sb += e * e
        total += weights[g] * np.sqrt(max(sa, sb))
    return total


@njit(cache=True, nogil=True)
def _diagonal_bound(a, b, bounds, weights):
    """Weighted grouped cost of the diagonal path: an upper bound on the grouped DTW."""
    total = 0.0
    for g in range(bounds.shape[0]):
        s = 0.0
        for i in range(a.shape[0]):
            for c in range(bounds[g, 0], bounds[g, 1]):
                e = a[i, c] - b[i, c]
                s += e * e
        total += weights[g] * np.sqrt(s)
    return total


@njit(cache=True, nogil=True)
def _add_costs(a, bt, i, lo, hi, out0, out1):
    """outX[j] = squared distance on columns lo..hi-1 of frames a[i] (X=0) and a[i+1] (X=1) to b[j].

    Vectorised over j; columns are added in order for every cell, exactly as tslearn's loop does.
    """
    t2 = bt.shape[1]
    two = i + 1 < a.shape[0]
    for j in range(t2):
        out0[j] = 0.0
        out1[j] = 0.0
    for c in range(lo, hi):
        x0 = a[i, c]
        x1 = a[i + 1, c] if two else 0.0
        for j in range(t2):
            b = bt[c, j]
            e0 = x0 - b
            out0[j] += e0 * e0
            e1 = x1 - b
            out1[j] += e1 * e1


@njit(cache=True, nogil=True, inline="always")
def _step(p_up, p_diag, left, cost):
    # The left neighbour (the serial chain) enters the min last: one min and one add per step.
    return cost + min(min(p_up, p_diag), left)


@njit(cache=True, nogil=True)
def _dp_rows(p, r0, r1, s0, s1, t2, two):
    """Rows i (into r0[g]) and, if `two`, i + 1 (into r1[g]) of the three groups' DPs from the
    previous rows p[g]. Row i + 1 runs one cell behind row i: six independent chains overlap.
    Returns the minima of the last row computed, per group.
    """
    inf = np.inf
    for g in range(3):  # column -1 of rows >= 0; the reused slots may hold the start's 0
        r0[g, 0] = inf
        r1[g, 0] = inf
    a0 = s0[0, 0] + min(min(p[0, 1], p[0, 0]), inf)
    a1 = s0[1, 0] + min(min(p[1, 1], p[1, 0]), inf)
    a2 = s0[2, 0] + min(min(p[2, 1], p[2, 0]), inf)
    r0[0, 1], r0[1, 1], r0[2, 1] = a0, a1, a2
    d0 = d1 = d2 = inf  # row i at j - 1
    b0 = b1 = b2 = inf  # row i + 1, left neighbour
    m0, m1, m2 = a0, a1, a2
    n0 = n1 = n2 = inf
    for j in range(1, t2):
        v0 = _step(p[0, j + 1], p[0, j], a0, s0[0, j])
        v1 = _step(p[1, j + 1], p[1, j], a1, s0[1, j])
        v2 = _step(p[2, j + 1], p[2, j], a2, s0[2, j])
        r0[0, j + 1], r0[1, j + 1], r0[2, j + 1] = v0, v1, v2
        if two:
            b0 = _step(a0, d0, b0, s1[0, j - 1])
            b1 = _step(a1, d1, b1, s1[1, j - 1])
            b2 = _step(a2, d2, b2, s1[2, j - 1])
            r1[0, j], r1[1, j], r1[2, j] = b0, b1, b2
            n0, n1, n2 = min(n0, b0), min(n1, b1), min(n2, b2)
        d0, d1, d2 = a0, a1, a2
        a0, a1, a2 = v0, v1, v2
        m0, m1, m2 = min(m0, v0), min(m1, v1), min(m2, v2)
    if not two:
        return m0, m1, m2
    b0 = _step(a0, d0, b0, s1[0, t2 - 1])
    b1 = _step(a1, d1, b1, s1[1, t2 - 1])
    b2 = _step(a2, d2, b2, s1[2, t2 - 1])
    r1[0, t2], r1[1, t2], r1[2, t2] = b0, b1, b2
    return min(n0, b0), min(n1, b1), min(n2, b2)


@njit(cache=True, nogil=True)
def grouped_dtw(a, bt, bounds, weights, limit, scratch):
    """sum_g w_g * DTW_g(a, b) for b = bt.T, or inf once it provably exceeds `limit`; also the rows done.

    scratch: (5, 3 groups, T + 1) work space. Each cell is its cost plus the min of its up, left
    and diagonal neighbours, as in tslearn, so the result is bit-for-bit the reference's. Every
    warping path crosses every row and costs are non-negative, so a row's minima bound the result.
    """
    t1 = a.shape[0]
    t2 = bt.shape[1]
    for g in range(3):
        for j in range(t2 + 1):
            scratch[0, g, j] = np.inf
        scratch[0, g, 0] = 0.0
    prev = 0  # which of slots 0 / 2 holds the previous row
    i = 0
    while i < t1:
        two = i + 1 < t1
        for g in range(3):
            _add_costs(a, bt, i, bounds[g, 0], bounds[g, 1], scratch[3, g], scratch[4, g])
        m0, m1, m2 = _dp_rows(scratch[prev], scratch[1], scratch[2 - prev], scratch[3], scratch[4], t2, two)
        if not two:  # odd tail: the single row becomes the previous row
            scratch[2 - prev, :, :] = scratch[1]
        prev = 2 - prev
        i += 2 if two else 1
        if weights[0] * np.sqrt(m0) + weights[1] * np.sqrt(m1) + weights[2] * np.sqrt(m2) > limit:
            return np.inf, i
    total = weights[0] * np.sqrt(scratch[prev, 0, t2]) + weights[1] * np.sqrt(scratch[prev, 1, t2])
    return total + weights[2] * np.sqrt(scratch[prev, 2, t2]), t1


@njit(cache=True, nogil=True)
def _best_neighbour(a, gt, gtt, candidates, bounds, weights, scratch):
    """min over candidate rows j of grouped_dtw(a, gt[j]) and the number of DP rows computed."""
    m = candidates.shape[0]
    lower = np.empty(m)
    upper = np.empty(m)
    for q in range(m):
        lower[q] = _box_bound(a, gt[candidates[q]], bounds, weights)
        upper[q] = _diagonal_bound(a, gt[candidates[q]], bounds, weights)
    # Visit the most promising first (smallest diagonal cost): the winner is then usually found
    # first and the others are abandoned early.
    order = np.argsort(upper)
    limit = upper[order[0]] * _UB_SLACK
    best = np.inf
    rows = 0
    for q in order:
        if lower[q] > limit:
            continue
        d, done = grouped_dtw(a, gtt[candidates[q]], bounds, weights, limit, scratch)
        rows += done
        if d < best:
            best = d
            limit = min(limit, d)
    if best == np.inf:  # only reachable if rounding defeated the slack: recompute without pruning
        for q in range(m):
            d, done = grouped_dtw(a, gtt[candidates[q]], bounds, weights, np.inf, scratch)
            rows += done
            best = min(best, d)
    return best, rows


@njit(cache=True, parallel=True)
def _min_distances(pred, gt, gtt, tasks, nbr_idx, nbr_ptr, bounds, weights, out, rows_done):
    t = pred.shape[2]
    for q in prange(tasks.shape[0]):
        k = tasks[q, 0]
        i = tasks[q, 1]
        scratch = np.empty((5, 3, t + 1))
        candidates = nbr_idx[nbr_ptr[k]:nbr_ptr[k + 1]]
        out[q], rows_done[q] = _best_neighbour(pred[k, i], gt, gtt, candidates, bounds, weights, scratch)


def min_distances(inputs: MetricInputs, progress: bool = False, chunk: int = 64) -> tuple[np.ndarray, dict]:
    """(N, K) grouped DTW of each sample to its closest appropriate real reaction, and work figures."""
    n, k, t, _ = inputs.pred.shape
    pred = inputs.pred.astype(np.float64)
    gt = inputs.listener_gt.astype(np.float64)
    gtt = np.ascontiguousarray(gt.transpose(0, 2, 1))  # (N, D, T): costs vectorise over frames
    nbr_idx, nbr_ptr = inputs.neighbour_lists()
    bounds, weights = _group_arrays()
    tasks = np.array([(row, s) for row in range(n) for s in range(k)], np.int64)
    out = np.empty(len(tasks))
    rows_done = np.zeros(len(tasks), np.int64)
    with tqdm(total=len(tasks), desc="FRDist", disable=not progress, leave=False) as bar:
        for start in range(0, len(tasks), chunk):
            sl = slice(start, start + chunk)
            _min_distances(pred, gt, gtt, tasks[sl], nbr_idx, nbr_ptr, bounds, weights, out[sl], rows_done[sl])
            bar.update(len(tasks[sl]))
    pairs = int((nbr_ptr[1:] - nbr_ptr[:-1]).sum()) * k
    work = {"dtw_cells": pairs * len(GROUP_WEIGHTS) * t * t,
            "dtw_cells_computed": int(rows_done.sum()) * len(GROUP_WEIGHTS) * t}
    return out.reshape(n, k), work


def frdist(inputs: MetricInputs, progress: bool = False) -> float:
    """Sum over the K samples of the closest grouped DTW, averaged over speakers (lower is better)."""
    return float(min_distances(inputs, progress)[0].sum(axis=1).mean())
