"""REACT 2025/2026 scoring on MARS: appropriate reactions by session, clips of any length.

Per input clip (2025: every clip of both roles; 2026: speaker clips) the predictions are K
reactions as long as the input. Its 10 targets are the real paired clip and 9 other clips of the
partner's role from the same session, drawn without replacement (with, when fewer than 9 exist).
The organisers draw with Python's `random` over files in directory order, which no one else can
replay; here the draw is seeded by (seed, input name) over sorted clips and written with the results.

The figures follow the organisers' formulas: FRC (best CCC over the targets, summed over K), FRD
(closest grouped DTW, summed over K), S-MSE, FRVar, TLCC on prediction 0 only (their quirk), and
2026's MAE on columns 15..24. Targets of another length than the input are resampled in time
(linear; AUs re-thresholded at 0.5, expressions renormalised): the organisers use an unpublished
learned model there, so such figures are labelled not official.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from facereact.data.mars import MarsClip, MarsCorpus
from facereact.errors import DataError
from facereact.layout import AFFECT, AU, EMOTION_DIM, EXPRESSION
from facereact.metrics.correlation import ccc_matrix
from facereact.metrics.diversity import frdiv
from facereact.metrics.dtw import closest_targets
from facereact.metrics.synchrony import sync_offsets

TARGETS = 10
SEED = 2025
ALIGNMENT = "linear resampling in time, AUs re-thresholded at 0.5, expressions renormalised (not official)"
FIGURES = ("FRC", "FRD", "S-MSE", "FRVar", "TLCC", "MAE")


def draw_targets(corpus: MarsCorpus, clip: MarsClip, seed: int = SEED, n: int = TARGETS) -> list[MarsClip]:
    """The real partner first, then n - 1 clips of the partner's role from the same session."""
    others = sorted(c for c in corpus.sessions()[clip.session][clip.partner.role] if c != clip.partner)
    if not others:
        return [clip.partner] * n
    rng = np.random.default_rng([seed, zlib.crc32(clip.name.encode())])  # the same whatever the input order
    chosen = rng.choice(len(others), n - 1, replace=len(others) < n - 1)
    return [clip.partner] + [others[i] for i in chosen]


def align(target: np.ndarray, frames: int) -> np.ndarray:
    """A (T', 25) target as a (frames, 25) one: unchanged when T' == frames, else resampled."""
    if len(target) == frames:
        return target
    where = np.linspace(0, len(target) - 1, frames)
    out = np.stack([np.interp(where, np.arange(len(target)), target[:, c]) for c in range(EMOTION_DIM)], axis=1)
    out[:, AU] = out[:, AU] >= 0.5
    expression = np.clip(out[:, EXPRESSION], 0, None)
    total = expression.sum(1, keepdims=True)
    out[:, EXPRESSION] = np.where(total > 0, expression / np.where(total > 0, total, 1), 1.0 / expression.shape[1])
    return out.astype(np.float32)


@dataclass
class InputScore:
    FRC: float
    FRD: float
    SMSE: float
    FRVar: float
    TLCC: float
    MAE: float


def score_input(pred: np.ndarray, targets: np.ndarray, speaker: np.ndarray) -> InputScore:
    """One input: pred (K, T, 25), targets (M, T, 25) aligned, the input clip's attributes (T, 25)."""
    pred, targets = pred.astype(np.float32), targets.astype(np.float32)  # the organisers' float32
    cols = slice(AFFECT.start, EMOTION_DIM)
    wide = targets[:, :, cols].astype(np.float64)
    mae = float(np.mean([np.abs(wide - p[:, cols]).mean() for p in pred]))  # one prediction at a time: long clips
    return InputScore(
        FRC=float(ccc_matrix(pred, targets).max(axis=1).sum()),
        FRD=float(closest_targets(pred, targets).sum()),
        SMSE=frdiv(pred[None]) if len(pred) > 1 else 0.0,
        FRVar=float(pred.astype(np.float64).var(axis=1, ddof=1).mean()),
        TLCC=float(sync_offsets(pred[None, :1], speaker[None])[0, 0]),  # prediction 0 only, as theirs
        MAE=mae)


def evaluate_react2025(predictions: dict[str, np.ndarray], corpus: MarsCorpus, directions: str = "both",
                       seed: int = SEED, progress: bool = False, source: str | None = None,
                       frames: int | None = None) -> dict:
    """The 2025/2026 figures for predictions {input clip name: (K, T, 25)}; directions "both"
    (2025: every clip is an input) or "speaker" (2026). frames: only each clip's first `frames`
    (inputs and targets alike, then aligned): a quick ranking of samplings, not the protocol's figures."""
    inputs = corpus.inputs(directions)
    missing = [c.name for c in inputs if c.name not in predictions]
    if missing:
        raise DataError(source, f"no predictions for {len(missing)} of {len(inputs)} inputs (first '{missing[0]}'); "
                                "keys are input clip names like 'speaker/session3/<stem>'")
    per_input, draws, resampled = [], {}, 0
    for clip in tqdm(inputs, desc="react2025", disable=not progress, leave=False):
        speaker = corpus.attributes(clip)[:frames]
        pred = np.asarray(predictions[clip.name])
        if pred.ndim != 3 or pred.shape[1:] != speaker.shape or not np.isfinite(pred).all():
            raise DataError(source, f"'{clip.name}': predictions of shape {pred.shape} (finite expected), "
                                    f"expected (K, {len(speaker)}, {EMOTION_DIM}): as long as the input")
        chosen = draw_targets(corpus, clip, seed)
        draws[clip.name] = [t.name for t in chosen]
        raw = [corpus.attributes(t)[:frames] for t in chosen]
        resampled += sum(len(r) != len(speaker) for r in raw)
        per_input.append(score_input(pred, np.stack([align(r, len(speaker)) for r in raw]), speaker))
    means = {name: float(np.mean([getattr(s, field) for s in per_input]))
             for name, field in zip(FIGURES, ("FRC", "FRD", "SMSE", "FRVar", "TLCC", "MAE"))}
    return {"protocol": "react2025", "split": corpus.split, "directions": directions, "inputs": len(inputs),
            **means, "targets": {"seed": seed, "per_input": TARGETS, "resampled": resampled,
                                 "alignment": ALIGNMENT if resampled else "none needed",
                                 # the organisers' own draw cannot be replayed: a seeded one, written here
                                 "draw": "seeded by (seed, input name) over sorted clips", "draws": draws}}
