"""Checked metric inputs: shapes, finiteness, neighbour rows; rounded to float32 like the reference."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facereact.errors import DataError
from facereact.layout import EMOTION_DIM


@dataclass(frozen=True)
class MetricInputs:
    pred: np.ndarray  # (N, K, T, D) float32
    listener_gt: np.ndarray  # (N, T, D) float32
    speaker_gt: np.ndarray  # (N, T, D) float32
    neighbour: np.ndarray  # (N, N) bool

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.pred.shape  # type: ignore[return-value]

    def neighbour_lists(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR form of the neighbour matrix: indices and row pointers."""
        rows, cols = np.nonzero(self.neighbour)
        ptr = np.searchsorted(rows, np.arange(len(self.neighbour) + 1))
        return cols.astype(np.int64), ptr.astype(np.int64)


def _array(name: str, value, ndim: int, source: str | None) -> np.ndarray:
    try:
        array = np.asarray(value)
        if array.dtype.kind not in "fiub":
            array = array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(source, f"'{name}' is not numeric ({exc})") from None
    if array.ndim != ndim:
        raise DataError(source, f"'{name}' has shape {array.shape}, expected {ndim} axes")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise DataError(source, f"'{name}' holds NaN or inf (first at index {tuple(np.argwhere(~np.isfinite(array))[0])})")
    return array


def check_inputs(pred, listener_gt, speaker_gt, neighbour, dim: int = EMOTION_DIM,
                 source: str | None = None) -> MetricInputs:
    """Validate arrays for the REACT metrics; `source` names the file they came from in errors."""
    pred = _array("pred", pred, 4, source)
    listener_gt = _array("listener_gt", listener_gt, 3, source)
    speaker_gt = _array("speaker_gt", speaker_gt, 3, source)
    neighbour = _array("neighbour", neighbour, 2, source)
    n, k, t, d = pred.shape
    if d != dim:
        raise DataError(source, f"'pred' has {d} columns per frame, expected {dim} (emotion)")
    if n < 1 or k < 1 or t < 2:
        raise DataError(source, f"'pred' shape {pred.shape} is empty (need N >= 1, K >= 1, T >= 2)")
    for name, gt in (("listener_gt", listener_gt), ("speaker_gt", speaker_gt)):
        if gt.shape != (n, t, d):
            raise DataError(source, f"'{name}' has shape {gt.shape}, expected (N, T, D) = {(n, t, d)} "
                                    "to match 'pred' (N, K, T, D)")
    if neighbour.shape != (n, n):
        raise DataError(source, f"'neighbour' has shape {neighbour.shape}, expected ({n}, {n})")
    if not np.isin(neighbour, (0.0, 1.0)).all():
        raise DataError(source, "'neighbour' holds values other than 0 and 1")
    empty = np.flatnonzero(neighbour.sum(1) == 0)
    if empty.size:
        raise DataError(source, f"'neighbour' rows with no appropriate reaction (no 1): {empty[:10].tolist()}")
    # The reference receives float32 tensors: round first so that the figures match it.
    rounded = {}
    for name, array in (("pred", pred), ("listener_gt", listener_gt), ("speaker_gt", speaker_gt)):
        with np.errstate(over="ignore"):
            rounded[name] = array.astype(np.float32, copy=False)  # float32 input (the usual) is not copied
        if not np.isfinite(rounded[name]).all():
            raise DataError(source, f"'{name}' holds values beyond float32's range (the metrics, like the "
                                    f"reference, compute in float32): largest magnitude {np.abs(array).max():.3g}")
    return MetricInputs(rounded["pred"], rounded["listener_gt"], rounded["speaker_gt"], neighbour.astype(bool))
