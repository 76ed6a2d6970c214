"""Atomic writes: a crash never leaves a half-written file behind."""
from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def _file_mode() -> int:
    """The mode a plain open() would give (mkstemp's 0600 would hide results from a web server)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary file beside `path`, with the same suffix so writers that choose a format by suffix
    work; renamed onto `path` when the block succeeds, removed when it fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode())


def save_npy_atomic(path: str | Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    write_bytes_atomic(path, buf.getvalue())


def save_npz_atomic(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes_atomic(path, buf.getvalue())


def check_writable(path: str | Path, folder: bool = False) -> None:
    """Before long work starts: `path` (a file, or with folder=True a folder) can be written, so a
    run never ends, minutes later, in an output it cannot write. Creates missing folders."""
    from facereact.errors import DataError

    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise DataError(path, "is a file, where an output folder is needed")
    if not folder and path.is_dir():
        raise DataError(path, "is a folder, where an output file is needed")
    target = path if folder else path.parent
    try:
        target.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=target, prefix=".write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataError(path, f"cannot write there ({exc.strerror})") from None
