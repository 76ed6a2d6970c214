"""Loading and validating the arrays of one clip; every problem becomes a DataError naming the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from facereact.errors import DataError
from facereact.layout import EMOTION_DIM, FACE_DIM


def check_finite(path: Path, array: np.ndarray) -> np.ndarray:
    """`array`, or a DataError at its first NaN or inf frame. Checked in blocks of frames, so a
    memory-mapped array is read through once without a full-size temporary."""
    for start in range(0, max(len(array), 1), _CHECK_BLOCK):
        block = array[start:start + _CHECK_BLOCK]
        if not np.isfinite(block).all():
            bad = np.argwhere(~np.isfinite(block))[0]
            raise DataError(path, f"holds NaN or inf (first at frame {start + bad[0]})")
    return array


_CHECK_BLOCK = 4096


def load_npy(path: Path, what: str, mapped: bool = False) -> np.ndarray:
    """An .npy array (never unpickled), or a DataError saying it is missing or unreadable.
    mapped: a read-only memory map, read from disk as it is sliced, not loaded."""
    if not path.is_file():
        raise DataError(path, f"missing {what}")
    check_magic(path, NPY_MAGIC, "a NumPy .npy file")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r" if mapped else None)
    except Exception as exc:
        raise DataError(path, f"unreadable npy ({str(exc).splitlines()[0]})") from None
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataError(path, f"{what} holds {array.dtype} values, not numbers")
    return array


NPY_MAGIC, NPZ_MAGIC = b"\x93NUMPY", b"PK"


def check_magic(path: Path, magic: bytes, what: str) -> None:
    """A file whose first bytes are not `magic` is not `what` (a text file renamed, say): say so,
    instead of NumPy's hint about pickles."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(magic))
    except OSError as exc:
        raise DataError(path, f"unreadable ({exc.strerror})") from None
    if head != magic:
        raise DataError(path, f"not {what}")


def load_face(path: Path) -> np.ndarray:
    """(T, 58) float32 3DMM coefficients; (T, 1, 58) is accepted and squeezed."""
    array = load_npy(path, "3DMM file")
    if array.ndim == 3 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 2 or array.shape[1] != FACE_DIM:
        raise DataError(path, f"3DMM shape {array.shape}, expected (T, {FACE_DIM}) or (T, 1, {FACE_DIM})")
    if array.shape[0] == 0:
        raise DataError(path, "3DMM file holds no frames")
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(path, f"3DMM dtype {array.dtype} is not numeric")
    return check_finite(path, array.astype(np.float32))


def load_emotion(path: Path) -> np.ndarray:
    """(T, 25) float32 emotion rows of a csv with a header row."""
    if not path.is_file():
        raise DataError(path, "missing emotion csv")
    try:
        with open(path) as f:
            header = f.readline()
            rows = [line for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"unreadable csv ({exc})") from None
    if not header.strip() or not rows:
        raise DataError(path, "emotion csv has no header or no rows")
    width = {len(r.split(",")) for r in rows}
    if width != {EMOTION_DIM}:
        raise DataError(path, f"emotion csv has {sorted(width)} columns, expected {EMOTION_DIM}")
    try:
        array = np.array([[float(v) for v in r.split(",")] for r in rows], dtype=np.float32)
    except ValueError as exc:
        raise DataError(path, f"non-numeric value in emotion csv ({exc})") from None
    return check_finite(path, array)


def save_emotion(path: Path, emotion: np.ndarray, names: tuple[str, ...]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, emotion, delimiter=",", header=",".join(names), comments="", fmt="%.6g")


def load_neighbours(path: Path, n_rows: int) -> np.ndarray:
    """(N, N) 0/1 appropriateness matrix in the mirrored row order, N = n_rows."""
    matrix = load_npy(path, "neighbour matrix")
    if matrix.shape != (n_rows, n_rows):
        raise DataError(path, f"neighbour matrix shape {matrix.shape}, expected ({n_rows}, {n_rows}) "
                              "(rows of the split list, then the same rows mirrored)")
    matrix = check_finite(path, matrix.astype(np.float64))
    if not np.isin(matrix, (0.0, 1.0)).all():
        raise DataError(path, "neighbour matrix holds values other than 0 and 1")
    empty = np.flatnonzero(matrix.sum(1) == 0)
    if empty.size:
        raise DataError(path, f"neighbour rows with no appropriate reaction: {empty[:10].tolist()}")
    return matrix.astype(bool)
