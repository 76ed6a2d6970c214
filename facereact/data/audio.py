"""Per-video-frame audio features without torchaudio.

The official REACT baseline's recipe (docs/data.md): for each video frame, Kaldi MFCC
(torchaudio.compliance.kaldi.mfcc defaults, use_energy=True) on that frame's own samples only,
then deltas and delta-deltas over its 2 sub-frames. A frame never sees later samples, which is
what online models rely on.
"""
from __future__ import annotations

import hashlib
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from facereact.errors import DataError
from facereact.io import save_npy_atomic
from facereact.layout import FPS, MFCC

FLOAT32_EPS = float(np.finfo(np.float32).eps)  # torchaudio floors energies at float32 eps
RECIPE_VERSION = "kaldi-mfcc78-v1"


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Mono float64 samples in [-1, 1] (channels averaged) and the sample rate."""
    if not Path(path).is_file():
        raise DataError(path, "missing wav file")
    try:
        samples, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except Exception as exc:  # soundfile raises several types for unreadable files
        raise DataError(path, f"unreadable wav ({exc})") from None
    if samples.shape[0] == 0:
        raise DataError(path, "wav holds no samples")
    if not np.isfinite(samples).all():
        raise DataError(path, "wav holds NaN or inf samples")
    return samples.mean(axis=1), int(rate)


def _mel_banks(n_bins: int, n_fft: int, rate: float, low: float = 20.0) -> np.ndarray:
    """Kaldi triangular mel filters, (n_bins, n_fft // 2 + 1), the Nyquist column zero."""
    def mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)

    high = 0.5 * rate
    delta = (mel(high) - mel(low)) / (n_bins + 1)
    b = np.arange(n_bins)[:, None]
    left, center, right = (mel(low) + (b + k) * delta for k in (0.0, 1.0, 2.0))
    fft_mel = mel(rate / n_fft * np.arange(n_fft // 2))[None, :]
    up = (fft_mel - left) / (center - left)
    down = (right - fft_mel) / (right - center)
    banks = np.maximum(0.0, np.minimum(up, down))
    return np.pad(banks, ((0, 0), (0, 1)))


def _dct_matrix(n_ceps: int, n_bins: int) -> np.ndarray:
    """Orthonormal DCT-II with Kaldi's constant first column, (n_bins, n_ceps)."""
    n = np.arange(n_bins)
    k = np.arange(n_bins)[:, None]
    dct = np.cos(math.pi / n_bins * (n + 0.5) * k)
    dct[0] *= 1.0 / math.sqrt(2.0)
    dct *= math.sqrt(2.0 / n_bins)
    dct = dct.T
    dct[:, 0] = math.sqrt(1.0 / n_bins)
    return dct[:, :n_ceps]


@lru_cache(maxsize=8)
def mfcc_recipe(rate: int, n_ceps: int = MFCC.n_ceps, n_bins: int = 23, lifter: float = 22.0):
    """(window, shift, n_fft, Povey window, mel banks, liftered DCT) of the recipe at this rate: the
    numbers kaldi_mfcc uses, and the exported step's audio graph (export/audio.py) bakes in."""
    window = int(rate * 0.025)
    shift = int(rate * 0.010)
    n_fft = 1 << (window - 1).bit_length()
    n = np.arange(window)
    povey = (0.5 - 0.5 * np.cos(2 * math.pi * n / (window - 1))) ** 0.85
    lifter_coeffs = 1.0 + 0.5 * lifter * np.sin(math.pi * np.arange(n_ceps) / lifter)
    return window, shift, n_fft, povey, _mel_banks(n_bins, n_fft, rate), _dct_matrix(n_ceps, n_bins) * lifter_coeffs


def kaldi_mfcc(windows: np.ndarray, rate: int) -> np.ndarray:
    """Kaldi MFCC with raw energy as c0 for already-cut windows (..., window) -> (..., 13)."""
    window, _, n_fft, povey, banks, dct = mfcc_recipe(rate)
    x = windows - windows.mean(axis=-1, keepdims=True)
    log_energy = np.maximum(np.log(np.maximum((x * x).sum(axis=-1), FLOAT32_EPS)), 0.0)
    previous = np.concatenate([x[..., :1], x[..., :-1]], axis=-1)
    x = (x - 0.97 * previous) * povey
    power = np.abs(np.fft.rfft(x, n=n_fft, axis=-1)) ** 2
    mel = np.log(np.maximum(power @ banks.T, FLOAT32_EPS))
    ceps = mel @ dct
    ceps[..., 0] = log_energy
    return ceps


def _deltas(x: np.ndarray, win: int = 5) -> np.ndarray:
    """torchaudio.functional.compute_deltas along the last axis (edge replication)."""
    n = (win - 1) // 2
    denom = n * (n + 1) * (2 * n + 1) / 3
    padded = np.concatenate([np.repeat(x[..., :1], n, -1), x, np.repeat(x[..., -1:], n, -1)], -1)
    length = x.shape[-1]
    return sum(k * padded[..., n + k: n + k + length] for k in range(-n, n + 1)) / denom


MIN_RATE = 8000  # below telephone quality the 23 mel bands up to Nyquist make little sense


def check_rate(rate: int) -> None:
    """DataError(None, ...) unless the rate gives the recipe's 2 MFCC sub-frames per video frame."""
    if rate < MIN_RATE:
        raise DataError(None, f"sample rate {rate} Hz is below {MIN_RATE} Hz")
    window, shift, *_ = mfcc_recipe(rate)
    n_sub = 1 + (int(rate / FPS) - window) // shift
    if n_sub != MFCC.n_subframes:
        raise DataError(None, f"sample rate {rate} Hz gives {n_sub} MFCC sub-frames per video frame, "
                              f"the recipe needs {MFCC.n_subframes}")


def frame_features(samples: np.ndarray, rate: int, n_frames: int) -> np.ndarray:
    """(n_frames, 78) float32 features from mono samples, trimmed or zero-padded to n_frames."""
    check_rate(rate)
    per_frame = int(rate / FPS)
    window, shift, *_ = mfcc_recipe(rate)
    n_sub = MFCC.n_subframes
    target = n_frames * per_frame
    samples = samples[:target]
    if samples.shape[0] < target:
        samples = np.pad(samples, (0, target - samples.shape[0]))
    frames = samples.reshape(n_frames, per_frame)
    starts = np.arange(n_sub) * shift
    windows = frames[:, starts[:, None] + np.arange(window)]  # (T, sub, window)
    static = np.swapaxes(kaldi_mfcc(windows, rate), 1, 2)  # (T, 13, sub)
    delta = _deltas(static)
    blocks = np.stack([static, delta, _deltas(delta)], axis=1)  # (T, order, 13, sub)
    return blocks.reshape(n_frames, -1).astype(np.float32)


def default_cache_dir() -> Path:
    """Feature cache outside the dataset: $FACEREACT_CACHE or ~/.cache/facereact."""
    root = os.environ.get("FACEREACT_CACHE") or Path.home() / ".cache" / "facereact"
    return Path(root) / "audio"


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wav_features(path: str | Path, n_frames: int, cache_dir: str | Path | None = None) -> np.ndarray:
    """Cached frame_features of a wav file, keyed by the file's content and the frame count."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "missing wav file")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache / f"{_file_digest(path)}-{n_frames}-{RECIPE_VERSION}.npy"
    if key.is_file():
        return np.load(key)
    samples, rate = read_wav(path)
    try:
        feats = frame_features(samples, rate, n_frames)
    except DataError as exc:
        raise DataError(path, exc.problem) from None
    save_npy_atomic(key, feats)  # a crash never leaves a half-written cache entry
    return feats
