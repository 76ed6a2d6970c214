"""The REACT 2024 challenge's metric loops, rewritten here the way its evaluation runs them.

Only for `metrics_vs_reference.py`: the slow baseline that facereact's metrics are timed and
checked against. Same structure as the organisers' code: Python loops over speakers, samples and
neighbours; one `tslearn.metrics.dtw` per pair and column group on float32 copies; a per-column
CCC from `np.corrcoef` (NaN for a constant column counts 0), `np.var` and `np.std`; the
time-lagged cross-correlation per lag and column with `np.corrcoef` on torch slices, scoring
sample 0 only; the speaker rows shared out to a `multiprocessing` pool by `starmap`; the
diversity figures with torch's `cdist`.
Needs tslearn (`pip install tslearn`), which facereact itself never imports.
"""
from __future__ import annotations

import multiprocessing as mp
from functools import partial

import numpy as np
import torch
from tslearn.metrics import dtw

DTW_GROUPS = ((0, 15, 1 / 15), (15, 17, 1), (17, 25, 1 / 8))


def _ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    per_column = []
    np.seterr(divide="ignore", invalid="ignore")  # constant columns: the reference's workers stay quiet too
    for c in range(y_true.shape[1]):
        cor = np.nan_to_num(np.corrcoef(y_true[:, c], y_pred[:, c])[0][1])  # a constant column counts 0
        numerator = 2 * cor * np.std(y_true[:, c]) * np.std(y_pred[:, c])
        denominator = np.var(y_true[:, c]) + np.var(y_pred[:, c]) + (np.mean(y_true[:, c]) - np.mean(y_pred[:, c])) ** 2
        per_column.append(numerator / (denominator + 1e-8))
    return float(np.mean(per_column))


def _frc_row(neighbour_row: np.ndarray, samples: np.ndarray, em: np.ndarray) -> float:
    neighbours = np.argwhere(neighbour_row == 1).reshape(-1)
    total = 0.0
    for i in range(samples.shape[0]):
        total += max(_ccc(em[j], samples[i]) for j in neighbours)
    return total


def _frd_row(neighbour_row: np.ndarray, samples: np.ndarray, em: np.ndarray) -> float:
    neighbours = np.argwhere(neighbour_row == 1).reshape(-1)
    total = 0.0
    for i in range(samples.shape[0]):
        distances = []
        for j in neighbours:
            d = 0.0
            for start, stop, weight in DTW_GROUPS:
                d += weight * dtw(samples[i].astype(np.float32)[:, start:stop], em[j].astype(np.float32)[:, start:stop])
            distances.append(d)
        total += min(distances)
    return total


def _crosscorr(x: torch.Tensor, y: torch.Tensor, lag: int) -> float:
    if lag > 0:
        x, y = x[lag:], y[:-lag]
    elif lag < 0:
        x, y = x[:lag], y[-lag:]
    values = [np.corrcoef(x[:, c].numpy(), y[:, c].numpy())[0, 1].item() for c in range(x.shape[1])]
    return torch.mean(torch.Tensor(values)).item()


def _tlcc_row(samples: np.ndarray, speaker: np.ndarray, seconds: int = 2, fps: int = 25) -> float:
    np.seterr(divide="ignore", invalid="ignore")
    pred, sp = torch.from_numpy(samples[0]).float(), torch.from_numpy(speaker).float()  # sample 0 only
    lags = range(-(seconds * fps - 1), seconds * fps)
    rs = [_crosscorr(pred, sp, lag) for lag in lags]
    return abs(len(rs) // 2 - int(torch.argmax(torch.Tensor(rs))))


def _pool_rows(fn, processes: int, *columns) -> list[float]:
    with mp.Pool(processes=processes) as pool:
        return pool.starmap(fn, zip(*columns))


def frcorr(pred, listener_gt, neighbour, processes: int = 2) -> float:
    return float(np.mean(_pool_rows(partial(_frc_row, em=listener_gt), processes, neighbour, pred)))


def frdist(pred, listener_gt, neighbour, processes: int = 2) -> float:
    return float(np.mean(_pool_rows(partial(_frd_row, em=listener_gt), processes, neighbour, pred)))


def frsyn(pred, speaker_gt, processes: int = 2) -> float:
    return float(np.mean(_pool_rows(_tlcc_row, processes, pred, speaker_gt)))


def frdiv(pred: np.ndarray) -> float:
    preds = torch.from_numpy(pred).double()
    total = 0.0
    for b in range(preds.shape[0]):
        flat = preds[b].reshape(preds.shape[1], -1)
        total += float(torch.cdist(flat, flat).pow(2).sum() / (flat.shape[0] * (flat.shape[0] - 1) * flat.shape[1]))
    return total / preds.shape[0]


def frvar(pred: np.ndarray) -> float:
    return float(torch.from_numpy(pred).double().var(dim=2).mean())


def frdvs(pred: np.ndarray) -> float:
    preds = torch.from_numpy(pred).double()
    n, k = preds.shape[:2]
    total = 0.0
    for i in range(k):
        flat = preds[:, i].reshape(n, -1)
        total += float(torch.cdist(flat, flat).pow(2).sum())
    return total / (n * (n - 1) * k) / flat.shape[1]
