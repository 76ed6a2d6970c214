"""FRDist: the reference's DTW (square root of the minimal accumulated *squared* Euclidean cost, no
window) on three emotion column groups, minimised over appropriate real reactions.

Exact, but far less work than the reference's pair-by-pair loop:
- four DTWs run side by side, one per float64 lane of a vector register (`dtw_lanes.py`): each
  lane is a different (sample, candidate) pair, the three groups are accumulated in one sweep;
- binary AUs (the real data's) cost a popcount of bit masks instead of 15 subtract-multiply-adds:
  every term is 0 or 1, so the sum is the same float64 to the last bit;
- each sample visits its candidates in order of a cheap upper bound (the cost of the diagonal
  path), so the winner usually comes first;
- a DTW is abandoned as soon as its weighted row minima (every warping path crosses every row,
  and costs are non-negative) exceed the best distance so far. Each lane searches one sample's
  candidates one after another with its own limit, so it prunes exactly as a lone search would.
Pruning only skips work whose result could not be the minimum, so the figure equals the reference's
(each cell is its cost, summed column by column in order, plus the min of its three neighbours,
as tslearn computes it).
"""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange
from tqdm import tqdm

from facereact.layout import EMOTION_GROUPS
from facereact.metrics.dtw_lanes import (ALL_COLUMNS, GROUPS, LANES, MASKED_COLUMNS, row_columns, row_columns_mins,
                                         row_masked, row_masked_mins)
from facereact.metrics.inputs import MetricInputs

GROUP_WEIGHTS = {"au": 1.0 / 15.0, "affect": 1.0, "expression": 1.0 / 8.0}
assert list(GROUP_WEIGHTS) == list(EMOTION_GROUPS)  # the lane kernels' group order
# Slack on the initial upper bound (a diagonal path), far above float64 rounding of the sums.
_UB_SLACK = 1.0 + 1e-9
CHECK_EVERY = 4  # rows between pruning checks: the row minima cost 7% of a row's work


def _group_arrays() -> tuple[np.ndarray, np.ndarray]:
    bounds = np.array([[EMOTION_GROUPS[g].start, EMOTION_GROUPS[g].stop] for g in GROUP_WEIGHTS], np.int64)
    return bounds, np.array(list(GROUP_WEIGHTS.values()), np.float64)


@njit(cache=True, nogil=True, fastmath=True)
def _diagonal_bound(a, b, bounds, weights):
    """Weighted grouped cost of the diagonal path: an upper bound on the grouped DTW. Summed per
    column first and in any order (fastmath, so the frames' loop vectorises): it differs from the
    DP's own sum of that path by a few ulps, far inside _UB_SLACK, and inputs are checked finite."""
    per_column = np.zeros(a.shape[1])
    for i in range(a.shape[0]):
        x = a[i]
        y = b[i]
        for c in range(a.shape[1]):
            e = np.float64(x[c]) - y[c]
            per_column[c] += e * e
    total = 0.0
    for g in range(bounds.shape[0]):
        total += weights[g] * np.sqrt(per_column[bounds[g, 0]:bounds[g, 1]].sum())
    return total


@njit(cache=True, nogil=True)
def _load_candidate(lane, gt, gt_masks, target, columns, b, mb, prev):
    """Put target `target` of gt in the lane's slots of b and mb; its DP starts afresh (row -1 is inf)."""
    n_cols = columns.shape[0]
    for j in range(gt.shape[1]):
        for c in range(n_cols):
            b[(j * n_cols + c) * LANES + lane] = gt[target, j, columns[c]]
        mb[j * LANES + lane] = gt_masks[target, j]
    for s in range(lane, prev.shape[0], LANES):
        prev[s] = np.inf


@njit(cache=True, nogil=True)
def _order_candidates(a, gt, candidates, bounds, weights, order):
    """Candidates sorted by their diagonal path's cost (an upper bound on the grouped DTW, when the
    lengths agree): the winner usually comes first and the others are abandoned early. Returns the
    first one's bound, or inf."""
    m = candidates.shape[0]
    if a.shape[0] != gt.shape[1]:
        order[:m] = candidates
        return np.inf
    upper = np.empty(m)
    for q in range(m):
        upper[q] = _diagonal_bound(a, gt[candidates[q]], bounds, weights)
    ranked = np.argsort(upper)
    for q in range(m):
        order[q] = candidates[ranked[q]]
    return upper[ranked[0]]


@njit(cache=True, nogil=True)
def _search(pred, pred_masks, gt, gt_masks, tasks, nbr_idx, nbr_ptr, cap, binary, bounds, weights, columns,
            space, masks_space, out, cells_out):
    """For each task (row, sample): min over the row's candidates of the grouped DTW of pred[row,
    sample] and gt[candidate], or inf if above `cap`. LANES tasks run side by side, one per vector
    lane, each searching its candidates one after another with its own pruning limit (so the cells
    it computes are its own, as if alone); a lane that finishes takes the next task."""
    t1 = pred.shape[2]
    t2 = gt.shape[1]
    n_cols = columns.shape[0]
    g_lanes = GROUPS * LANES
    # The row kernels index without bounds checks: every buffer is cut to its exact size here.
    n_b = t2 * n_cols * LANES
    n_row = t2 * g_lanes
    assert space.shape[0] >= n_b + 2 * n_row and masks_space.shape[0] >= t2 * LANES
    b = space[:n_b]
    prev = space[n_b:n_b + n_row]
    cur = space[n_b + n_row:n_b + 2 * n_row]
    a_row = np.zeros(n_cols * LANES)
    start = np.empty(g_lanes)
    mins = np.empty(g_lanes)
    mb = masks_space[:t2 * LANES]
    ma = np.zeros(LANES, np.int32)
    widest = 1
    for q in range(tasks.shape[0]):
        widest = max(widest, nbr_ptr[tasks[q, 0] + 1] - nbr_ptr[tasks[q, 0]])
    order = np.empty((LANES, widest), np.int64)
    task = np.full(LANES, -1)  # index into tasks; -1: idle
    n_cand = np.zeros(LANES, np.int64)
    pos = np.zeros(LANES, np.int64)  # which of the task's candidates the lane computes
    row = np.zeros(LANES, np.int64)
    first_round = np.ones(LANES, np.bool_)
    limit = np.full(LANES, np.inf)
    ub_limit = np.full(LANES, np.inf)
    best = np.full(LANES, np.inf)
    cells = np.zeros(LANES, np.int64)
    taken = 0
    step = 0
    while True:
        for lane in range(LANES):
            while task[lane] < 0 and taken < tasks.shape[0]:  # an idle lane takes the next task
                q = taken
                taken += 1
                candidates = nbr_idx[nbr_ptr[tasks[q, 0]]:nbr_ptr[tasks[q, 0] + 1]]
                if candidates.shape[0] == 0:
                    out[q] = np.inf
                    cells_out[q] = 0
                    continue
                ub = _order_candidates(pred[tasks[q, 0], tasks[q, 1]], gt, candidates, bounds, weights, order[lane])
                task[lane] = q
                n_cand[lane] = candidates.shape[0]
                pos[lane] = 0
                row[lane] = 0
                first_round[lane] = True
                ub_limit[lane] = ub * _UB_SLACK
                limit[lane] = min(ub_limit[lane], cap)
                best[lane] = np.inf
                cells[lane] = 0
                _load_candidate(lane, gt, gt_masks, order[lane, 0], columns, b, mb, prev)
        if (task < 0).all():
            break
        for lane in range(LANES):
            q = task[lane]
            if q < 0:
                continue
            frame = pred[tasks[q, 0], tasks[q, 1], row[lane]]
            for c in range(n_cols):
                a_row[c * LANES + lane] = frame[columns[c]]
            ma[lane] = pred_masks[tasks[q, 0], tasks[q, 1], row[lane]]
            for g in range(GROUPS):
                start[g * LANES + lane] = 0.0 if row[lane] == 0 else np.inf
        check = step % CHECK_EVERY == CHECK_EVERY - 1
        step += 1
        if binary:
            if check:
                row_masked_mins(a_row, ma, b, mb, prev, cur, start, mins)
            else:
                row_masked(a_row, ma, b, mb, prev, cur, start, mins)
        elif check:
            row_columns_mins(a_row, ma, b, mb, prev, cur, start, mins)
        else:
            row_columns(a_row, ma, b, mb, prev, cur, start, mins)
        prev, cur = cur, prev
        for lane in range(LANES):
            if task[lane] < 0:
                continue
            row[lane] += 1
            cells[lane] += GROUPS * t2
            if row[lane] == t1:  # the DTW is done: its value sits in the last column
                total = 0.0
                for g in range(GROUPS):
                    total += weights[g] * np.sqrt(prev[((t2 - 1) * GROUPS + g) * LANES + lane])
                if total <= limit[lane]:
                    best[lane] = min(best[lane], total)
                    limit[lane] = min(limit[lane], total)
            elif not check:
                continue
            else:
                bound = 0.0
                for g in range(GROUPS):
                    bound += weights[g] * np.sqrt(mins[g * LANES + lane])
                if not bound > limit[lane]:
                    continue  # still possibly the closest: on to the next row
            pos[lane] += 1
            if pos[lane] < n_cand[lane]:
                row[lane] = 0
                _load_candidate(lane, gt, gt_masks, order[lane, pos[lane]], columns, b, mb, prev)
            elif best[lane] == np.inf and first_round[lane] and ub_limit[lane] < cap:
                # Only if rounding defeated the bound's slack: again, limited by the cap alone.
                first_round[lane] = False
                limit[lane] = cap
                pos[lane] = 0
                row[lane] = 0
                _load_candidate(lane, gt, gt_masks, order[lane, 0], columns, b, mb, prev)
            else:
                out[task[lane]] = best[lane]
                cells_out[task[lane]] = cells[lane]
                task[lane] = -1


@njit(cache=True, parallel=True)
def _search_parts(pred, pred_masks, gt, gt_masks, tasks, nbr_idx, nbr_ptr, cap, binary, bounds, weights, columns,
                  spaces, masks_spaces, out, cells_out):
    # Thread p takes every p-th task; each has its own work space, allocated once by the caller (fresh
    # memory costs page faults that the threads then wait on each other for).
    parts = spaces.shape[0]
    for p in prange(parts):
        mine = np.arange(p, tasks.shape[0], parts)
        got = np.empty(mine.shape[0])
        got_cells = np.empty(mine.shape[0], np.int64)
        _search(pred, pred_masks, gt, gt_masks, tasks[mine], nbr_idx, nbr_ptr, cap, binary, bounds, weights, columns,
                spaces[p], masks_spaces[p], got, got_cells)
        out[mine] = got
        cells_out[mine] = got_cells


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
    masks = np.empty(flat.shape[:2], np.int32)
    binary = np.empty(len(flat), np.bool_)
    au = EMOTION_GROUPS["au"]
    _au_masks(flat, au.start, au.stop, masks, binary)  # one pass, no float64 or int64 copies of x
    return masks.reshape(x.shape[:-1]), binary.reshape(x.shape[:-2])


def grouped_dtw(a: np.ndarray, b: np.ndarray, limit: float = np.inf) -> tuple[float, int]:
    """FRDist's distance of two (T, 25) sequences (inf once it provably exceeds `limit`) and the
    group-cells computed: the reference's figure to the last bit."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    distances, work = _closest(a[None, None], b[None], np.zeros(1, np.int64), np.array([0, 1]), cap=float(limit))
    return float(distances[0, 0]), work["dtw_cells_computed"]


def min_distances(inputs: MetricInputs, progress: bool = False, chunk: int = 512) -> tuple[np.ndarray, dict]:
    """(N, K) grouped DTW of each sample to its closest appropriate real reaction, and work figures."""
    nbr_idx, nbr_ptr = inputs.neighbour_lists()
    return _closest(inputs.pred, inputs.listener_gt, nbr_idx, nbr_ptr, progress=progress, chunk=chunk)


def closest_targets(pred: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(K,) grouped DTW of each of K reactions (K, T, D) to the closest of M targets (M, T, D)."""
    m = len(targets)
    distances, _ = _closest(np.asarray(pred, np.float32)[None], np.asarray(targets, np.float32), np.arange(m),
                            np.array([0, m]))
    return distances[0]


def _closest(pred: np.ndarray, gt: np.ndarray, nbr_idx: np.ndarray, nbr_ptr: np.ndarray, cap: float = np.inf,
             progress: bool = False, chunk: int = 512) -> tuple[np.ndarray, dict]:
    """pred (N, K, T1, D), gt (M, T2, D), read in their own dtype (float32 widens exactly, and no
    copy to fault in); row n's candidates are gt[nbr_idx[nbr_ptr[n]:nbr_ptr[n + 1]]]; a distance
    above `cap` is inf."""
    n, k, t1, _ = pred.shape
    t2 = gt.shape[1]
    (pred_masks, pred_binary), (gt_masks, gt_binary) = au_masks(pred), au_masks(gt)
    nbr_idx, nbr_ptr = nbr_idx.astype(np.int64), nbr_ptr.astype(np.int64)
    bounds, weights = _group_arrays()
    # A sample takes the popcount kernel when its AUs and all its candidates' are 0/1.
    rows_binary = np.array([gt_binary[nbr_idx[nbr_ptr[r]:nbr_ptr[r + 1]]].all() for r in range(n)], np.bool_)
    tasks = np.array([(r, s) for r in range(n) for s in range(k)], np.int64).reshape(-1, 2)
    binary = pred_binary.reshape(-1) & np.repeat(rows_binary, k)
    out = np.empty(len(tasks))
    cells_done = np.zeros(len(tasks), np.int64)
    threads = get_num_threads()
    # One work space per thread, allocated once: target frames for every lane, two DP rows.
    spaces = np.zeros((threads, t2 * (len(ALL_COLUMNS) + 2 * GROUPS) * LANES))
    mask_spaces = np.zeros((threads, t2 * LANES), np.int32)
    with tqdm(total=len(tasks), desc="FRDist", disable=not progress, leave=False) as bar:
        for kernel_binary, columns in ((True, MASKED_COLUMNS), (False, ALL_COLUMNS)):
            picked = np.flatnonzero(binary == kernel_binary)
            for start in range(0, len(picked), chunk):
                sl = picked[start:start + chunk]
                got = np.empty(len(sl))
                got_cells = np.empty(len(sl), np.int64)
                _search_parts(pred, pred_masks, gt, gt_masks, tasks[sl], nbr_idx, nbr_ptr, cap, kernel_binary, bounds,
                              weights, columns, spaces, mask_spaces, got, got_cells)
                out[sl], cells_done[sl] = got, got_cells
                bar.update(len(sl))
    pairs = int((nbr_ptr[1:] - nbr_ptr[:-1]).sum()) * k
    work = {"dtw_cells": pairs * len(GROUP_WEIGHTS) * t1 * t2, "dtw_cells_computed": int(cells_done.sum())}
    return out.reshape(n, k), work


def frdist(inputs: MetricInputs, progress: bool = False) -> float:
    """Sum over the K samples of the closest grouped DTW, averaged over speakers (lower is better)."""
    return float(min_distances(inputs, progress)[0].sum(axis=1).mean())
