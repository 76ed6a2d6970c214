"""FRDist: the reference's DTW (square root of the minimal accumulated *squared* Euclidean cost, no
window) on three emotion column groups, minimised over appropriate real reactions.

Exact, but far less work than the reference's pair-by-pair loop:
- the three groups are accumulated in one sweep of the cost matrix, four rows a sweep: costs
  are vectorised over frames (two columns a pass), and the four rows' DP runs skewed, one column
  apart, so four independent dependency chains keep the CPU busy;
- binary AUs (the real data's) cost a popcount of bit masks instead of 15 subtract-multiply-adds:
  every term is 0 or 1, so the sum is the same float64 to the last bit;
- neighbours are visited in order of a cheap upper bound (the cost of the diagonal path), so the
  winner usually comes first;
- a DTW is abandoned as soon as the weighted row minima (every warping path crosses every row,
  and costs are non-negative) exceed the best distance so far.
Pruning only skips work whose result could not be the minimum, so the figure equals the reference's
(each cell is its cost, summed column by column in order, plus the min of its three neighbours,
as tslearn computes it).
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, get_thread_id, njit, prange
from tqdm import tqdm

from facereact.layout import EMOTION_GROUPS
from facereact.metrics.inputs import MetricInputs

GROUP_WEIGHTS = {"au": 1.0 / 15.0, "affect": 1.0, "expression": 1.0 / 8.0}
# Slack on the initial upper bound (a diagonal path), far above float64 rounding of the sums.
_UB_SLACK = 1.0 + 1e-9
BLOCK = 4  # DP rows per sweep: four dependency chains in flight (the loops below are written for 4)
PAD = BLOCK  # inf slots either side of a row, so the skewed sweep runs without bounds checks
# The kernel takes group 0 as the AUs, packed into 16-bit masks when binary.
assert next(iter(GROUP_WEIGHTS)) == "au" and EMOTION_GROUPS["au"].stop - EMOTION_GROUPS["au"].start <= 16


def _group_arrays() -> tuple[np.ndarray, np.ndarray]:
    bounds = np.array([[EMOTION_GROUPS[g].start, EMOTION_GROUPS[g].stop] for g in GROUP_WEIGHTS], np.int64)
    return bounds, np.array(list(GROUP_WEIGHTS.values()), np.float64)


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


@njit(cache=True, nogil=True, inline="always")
def _popcount16(x):
    """Set bits of x < 2**16 (the AU masks)."""
    x = x - ((x >> 1) & 0x5555)
    x = (x & 0x3333) + ((x >> 2) & 0x3333)
    x = (x + (x >> 4)) & 0x0F0F
    return (x + (x >> 8)) & 0x1F


@njit(cache=True, nogil=True)
def _block_popcounts(ma, mb, i, out):
    """_block_costs for 0/1 AUs: every term is 0 or 1, so the sum is exactly the number of AUs that
    differ, a popcount of the frames' AU bit masks (the same float64 to the last bit)."""
    for k in range(BLOCK):
        row = out[k, PAD:PAD + mb.shape[0]]
        if i + k >= ma.shape[0]:
            row[:] = np.inf
            continue
        x = ma[i + k]
        for j in range(mb.shape[0]):
            row[j] = np.float64(_popcount16(x ^ mb[j]))


@njit(cache=True, nogil=True, inline="always")
def _plus_one(total, x, y):
    e = x - y
    return total + e * e


@njit(cache=True, nogil=True, inline="always")
def _plus_two(total, x, u, y, z):
    """total + (x - y)^2 + (u - z)^2, added in that order (two columns, as tslearn's loop adds them)."""
    e = x - y
    f = u - z
    return total + e * e + f * f


@njit(cache=True, nogil=True)
def _block_costs(a, bt, i, lo, hi, out):
    """out[k, PAD + j] = squared distance on columns lo..hi-1 of frames a[i + k] and b[j], k < BLOCK
    (inf past a's end). Vectorised over j; columns are added in order for every cell, exactly as
    tslearn's loop does."""
    t1 = a.shape[0]
    t2 = bt.shape[1]
    r0 = out[0, PAD:PAD + t2]
    r1 = out[1, PAD:PAD + t2]
    r2 = out[2, PAD:PAD + t2]
    r3 = out[3, PAD:PAD + t2]
    for j in range(t2):
        r0[j] = 0.0
        r1[j] = 0.0
        r2[j] = 0.0
        r3[j] = 0.0
    last = min(i + BLOCK, t1) - 1
    for c in range(lo, hi - 1, 2):  # two columns a sweep: half the stores, the same order of sums
        x0, u0 = a[i, c], a[i, c + 1]
        x1, u1 = a[min(i + 1, last), c], a[min(i + 1, last), c + 1]
        x2, u2 = a[min(i + 2, last), c], a[min(i + 2, last), c + 1]
        x3, u3 = a[min(i + 3, last), c], a[min(i + 3, last), c + 1]
        y = bt[c]
        z = bt[c + 1]
        for j in range(t2):  # four rows written out: four independent sums per frame to vectorise
            r0[j] = _plus_two(r0[j], x0, u0, y[j], z[j])
            r1[j] = _plus_two(r1[j], x1, u1, y[j], z[j])
            r2[j] = _plus_two(r2[j], x2, u2, y[j], z[j])
            r3[j] = _plus_two(r3[j], x3, u3, y[j], z[j])
    if (hi - lo) % 2:
        c = hi - 1
        x0, x1, x2, x3 = a[i, c], a[min(i + 1, last), c], a[min(i + 2, last), c], a[min(i + 3, last), c]
        y = bt[c]
        for j in range(t2):
            r0[j] = _plus_one(r0[j], x0, y[j])
            r1[j] = _plus_one(r1[j], x1, y[j])
            r2[j] = _plus_one(r2[j], x2, y[j])
            r3[j] = _plus_one(r3[j], x3, y[j])
    for k in range(1, BLOCK):
        if i + k >= t1:
            out[k, PAD:PAD + t2] = np.inf


@njit(cache=True, nogil=True)
def _block_dp(p, c, r, every_row):
    """BLOCK rows of one group's accumulated cost, from the previous row p.

    Slot PAD + j holds column j; every other slot of p, c and r is inf (c past a's end too), so the
    skewed loop needs no guards: row k runs k columns behind row k - 1, which gives four
    independent dependency chains. Each cell is its cost plus the min of its up, diagonal and left
    neighbours. Only the last row is stored (the next block's previous row) unless `every_row`
    (the final block, whose rows hold the result). Returns the minimum of the last row (every
    warping path crosses it).
    """
    t2 = p.shape[0] - 2 * PAD
    c0, c1, c2, c3 = c[0], c[1], c[2], c[3]
    r0, r1, r2, r3 = r[0], r[1], r[2], r[3]
    a0 = a1 = a2 = a3 = np.inf  # each row's latest value: its next cell's left neighbour
    b0 = b1 = b2 = np.inf  # the value before: the next row's diagonal
    pd = p[PAD - 1]  # column -1 of the previous row: inf, or the start's 0
    m3 = np.inf
    for j in range(t2 + BLOCK - 1):
        q = j + PAD
        pu = p[q]
        v0 = c0[q] + min(min(pu, pd), a0)
        v1 = c1[q - 1] + min(min(a0, b0), a1)
        v2 = c2[q - 2] + min(min(a1, b1), a2)
        v3 = c3[q - 3] + min(min(a2, b2), a3)
        if every_row:
            r0[q] = v0
            r1[q - 1] = v1
            r2[q - 2] = v2
        r3[q - 3] = v3
        m3 = min(m3, v3)
        pd = pu
        b0, b1, b2 = a0, a1, a2
        a0, a1, a2, a3 = v0, v1, v2, v3
    return m3


@njit(cache=True, nogil=True)
def grouped_dtw_kernel(a, bt, ma, mb, binary, bounds, weights, limit, scratch):
    """sum_g w_g * DTW_g(a, b) for b = bt.T, or inf once it provably exceeds `limit`; also the
    group-cells computed.

    ma, mb: the frames' AU bit masks, used when `binary` (every AU of a and b is 0 or 1);
    scratch: (4, 3 groups, BLOCK, T + 2 PAD) work space, filled with inf once by the caller: the
    kernel only writes inf to the padding, so one fill serves every call with the same T. The result is bit-for-bit tslearn's: the
    same costs, and each cell its cost plus the min of its three neighbours. Costs are
    non-negative and every warping path crosses every row, so a row's minima bound the result.
    """
    t1 = a.shape[0]
    t2 = bt.shape[1]
    for g in range(3):  # row -1: the start (0) before column 0, inf after
        scratch[3, g, 0, PAD - 1] = 0.0
    prev = 3
    last = (t1 - 1) // BLOCK * BLOCK
    for i in range(0, t1, BLOCK):
        for g in range(3):
            if g == 0 and binary:
                _block_popcounts(ma, mb, i, scratch[0, g])
            else:
                _block_costs(a, bt, i, bounds[g, 0], bounds[g, 1], scratch[0, g])
        out = 1 if prev != 1 else 2
        bound = 0.0
        for g in range(3):
            row = scratch[prev, g, BLOCK - 1] if prev != 3 else scratch[3, g, 0]
            bound += weights[g] * np.sqrt(_block_dp(row, scratch[0, g], scratch[out, g], i == last))
        prev = out
        if i != last and bound > limit:
            return np.inf, 3 * (i + BLOCK) * t2
    k = t1 - 1 - last
    total = 0.0
    for g in range(3):
        total += weights[g] * np.sqrt(scratch[prev, g, k, PAD + t2 - 1])
    return (np.inf if total > limit else total), 3 * t1 * t2


@njit(cache=True, nogil=True)
def _best_neighbour(a, ma, binary_a, gt, gtt, gt_masks, gt_binary, candidates, bounds, weights, scratch):
    """min over candidate rows j of the grouped DTW of a and gt[j], and the group-cells computed."""
    m = candidates.shape[0]
    upper = np.empty(m)
    for q in range(m):
        upper[q] = _diagonal_bound(a, gt[candidates[q]], bounds, weights)
    # Visit the most promising first (smallest diagonal cost): the winner is then usually found
    # first and the others are abandoned early.
    order = np.argsort(upper)
    limit = upper[order[0]] * _UB_SLACK
    best = np.inf
    cells = 0
    for rounds in range(2):
        for q in order:
            j = candidates[q]
            d, done = grouped_dtw_kernel(a, gtt[j], ma, gt_masks[j], binary_a and gt_binary[j], bounds, weights,
                                         limit, scratch)
            cells += done
            best = min(best, d)
            limit = min(limit, d)
        if best < np.inf:
            break
        limit = np.inf  # only reachable if rounding defeated the slack: again without pruning
    return best, cells


@njit(cache=True, parallel=True)
def _min_distances(pred, pred_masks, pred_binary, gt, gtt, gt_masks, gt_binary, tasks, nbr_idx, nbr_ptr, bounds,
                   weights, scratches, out, cells_done):
    # One work space per thread, allocated once by the caller: a fresh 300 KB a task costs page
    # faults that the threads then wait on each other for.
    for q in prange(tasks.shape[0]):
        k = tasks[q, 0]
        i = tasks[q, 1]
        scratch = scratches[get_thread_id()]
        candidates = nbr_idx[nbr_ptr[k]:nbr_ptr[k + 1]]
        out[q], cells_done[q] = _best_neighbour(pred[k, i], pred_masks[k, i], pred_binary[k, i], gt, gtt, gt_masks,
                                                gt_binary, candidates, bounds, weights, scratch)


@njit(cache=True)
def _au_masks(x, lo, hi, masks, binary):
    for s in range(x.shape[0]):
        ok = True
        for i in range(x.shape[1]):
            m = 0
            for c in range(lo, hi):
                v = x[s, i, c]
                ok = ok and (v == 0.0 or v == 1.0)
                if v == 1.0:
                    m |= 1 << (c - lo)
            masks[s, i] = m
        binary[s] = ok


def au_masks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame the AU bits of (..., T, D) sequences, and per sequence whether every AU is 0 or 1."""
    flat = x.reshape(-1, *x.shape[-2:])
    masks = np.empty(flat.shape[:2], np.int64)
    binary = np.empty(len(flat), np.bool_)
    au = EMOTION_GROUPS["au"]
    _au_masks(flat, au.start, au.stop, masks, binary)  # one pass, no float64 or int64 copies of x
    return masks.reshape(x.shape[:-1]), binary.reshape(x.shape[:-2])


def grouped_dtw(a: np.ndarray, b: np.ndarray, limit: float = np.inf) -> tuple[float, int]:
    """FRDist's distance of two (T, 25) sequences (inf once it provably exceeds `limit`) and the
    group-cells computed: the reference's figure to the last bit."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    bounds, weights = _group_arrays()
    (ma, binary_a), (mb, binary_b) = au_masks(a), au_masks(b)
    return grouped_dtw_kernel(a, np.ascontiguousarray(b.T), ma, mb, bool(binary_a and binary_b), bounds, weights,
                              float(limit), np.full((4, 3, BLOCK, len(b) + 2 * PAD), np.inf))


def min_distances(inputs: MetricInputs, progress: bool = False, chunk: int = 64) -> tuple[np.ndarray, dict]:
    """(N, K) grouped DTW of each sample to its closest appropriate real reaction, and work figures."""
    nbr_idx, nbr_ptr = inputs.neighbour_lists()
    return _closest(inputs.pred, inputs.listener_gt, nbr_idx, nbr_ptr, progress, chunk)


def closest_targets(pred: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(K,) grouped DTW of each of K reactions (K, T, D) to the closest of M targets (M, T, D)."""
    m = len(targets)
    distances, _ = _closest(np.asarray(pred, np.float32)[None], np.asarray(targets, np.float32), np.arange(m),
                            np.array([0, m]), progress=False)
    return distances[0]


def _closest(pred: np.ndarray, gt: np.ndarray, nbr_idx: np.ndarray, nbr_ptr: np.ndarray, progress: bool,
             chunk: int = 64) -> tuple[np.ndarray, dict]:
    """pred (N, K, T, D) float32 (read as such: each value widens exactly, and no copy to fault
    in); gt (M, T, D); row n's candidates are gt[nbr_idx[nbr_ptr[n]:nbr_ptr[n + 1]]]."""
    n, k, t, _ = pred.shape
    gt = gt.astype(np.float64)
    gtt = np.ascontiguousarray(gt.transpose(0, 2, 1))  # (M, D, T): costs vectorise over frames
    (pred_masks, pred_binary), (gt_masks, gt_binary) = au_masks(pred), au_masks(gt)
    nbr_idx, nbr_ptr = nbr_idx.astype(np.int64), nbr_ptr.astype(np.int64)
    bounds, weights = _group_arrays()
    tasks = np.array([(row, s) for row in range(n) for s in range(k)], np.int64)
    out = np.empty(len(tasks))
    cells_done = np.zeros(len(tasks), np.int64)
    scratches = np.full((get_num_threads(), 4, 3, BLOCK, t + 2 * PAD), np.inf)
    with tqdm(total=len(tasks), desc="FRDist", disable=not progress, leave=False) as bar:
        for start in range(0, len(tasks), chunk):
            sl = slice(start, start + chunk)
            _min_distances(pred, pred_masks, pred_binary, gt, gtt, gt_masks, gt_binary, tasks[sl], nbr_idx, nbr_ptr,
                           bounds, weights, scratches, out[sl], cells_done[sl])
            bar.update(len(tasks[sl]))
    pairs = int((nbr_ptr[1:] - nbr_ptr[:-1]).sum()) * k
    work = {"dtw_cells": pairs * len(GROUP_WEIGHTS) * t * t, "dtw_cells_computed": int(cells_done.sum())}
    return out.reshape(n, k), work


def frdist(inputs: MetricInputs, progress: bool = False) -> float:
    """Sum over the K samples of the closest grouped DTW, averaged over speakers (lower is better)."""
    return float(min_distances(inputs, progress)[0].sum(axis=1).mean())
