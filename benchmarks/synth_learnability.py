"""How learnable is the synthetic listener? Lagged correlation between speaker and listener channels.

Usage: python benchmarks/synth_learnability.py [ROOT]  (writes a corpus to a temp folder if no ROOT)
"""
from __future__ import annotations

import sys
import tempfile
import time

import numpy as np

from facereact.data.audio import wav_features
from facereact.data.corpus import ReactCorpus
from facereact.data.paths import AUDIO_DIR
from facereact.layout import FPS, face_index
from facereact.synth.writer import SynthConfig, synthesize_corpus


def lagged_corr(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """Pearson correlation of a[t] and b[t + lag] (b lags a by `lag` frames)."""
    x, y = (a[: len(a) - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[: len(b) + lag])
    return float(np.corrcoef(x, y)[0, 1])


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()
    if len(sys.argv) == 1:
        t0 = time.perf_counter()
        synthesize_corpus(root, SynthConfig(sessions=26, clips_per_session=4), progress=False)
        print(f"synthesized 104 clip pairs (751 frames, 16 kHz) in {time.perf_counter() - t0:.1f} s")
    corpus = ReactCorpus(root, "train")
    corpus.cache_dir = tempfile.mkdtemp()
    t0 = time.perf_counter()
    pairs = [corpus.load_pair(i) for i in range(len(corpus))]
    print(f"loaded {len(pairs)} pairs with audio features in {time.perf_counter() - t0:.2f} s "
          f"({(time.perf_counter() - t0) / len(pairs) * 1000:.0f} ms per pair, cold cache)")
    ref = corpus.pairs[0].speaker.file(corpus.root, AUDIO_DIR)
    t0 = time.perf_counter()
    for _ in range(5):
        wav_features(ref, 751, cache_dir=tempfile.mkdtemp())
    print(f"audio features of one clip without cache: {(time.perf_counter() - t0) / 5 * 1000:.0f} ms")
    smile = face_index("mouthSmileLeft")
    pitch = face_index("pitch")
    lags = list(range(-50, 76, 5))
    rows = {"speaker smile -> listener smile": [], "speaker smile -> listener smile (shuffled pairs)": [],
            "speaker smile onsets -> listener smile onsets": []}
    rng = np.random.default_rng(0)
    for p in pairs:
        other = pairs[rng.integers(len(pairs))]
        rows["speaker smile -> listener smile"].append([lagged_corr(p.speaker_face[:, smile], p.listener_face[:, smile], l) for l in lags])
        onset = [np.clip(np.diff(f[:, smile], prepend=f[0, smile]), 0, None) for f in (p.speaker_face, p.listener_face)]
        rows["speaker smile onsets -> listener smile onsets"].append([lagged_corr(*onset, l) for l in lags])
        rows["speaker smile -> listener smile (shuffled pairs)"].append(
            [lagged_corr(p.speaker_face[:, smile], other.listener_face[:, smile], l) for l in lags])
    # Event-triggered: listener head-pitch speed after the speaker's phrase ends vs at other times.
    after, elsewhere = [], []
    for p in pairs:
        voiced = np.convolve(p.speaker_audio[:, 0] > 0.1, np.ones(9) / 9, "same") > 0.3
        ends = np.flatnonzero(voiced[:-1] & ~voiced[1:])
        speed = np.abs(np.diff(p.listener_face[:, pitch], prepend=p.listener_face[0, pitch]))
        mask = np.zeros(len(speed), bool)
        for e in ends:
            mask[e + 5: e + 30] = True  # 0.2 to 1.2 s after the phrase ends
        if mask.any():
            after.append(speed[mask].mean())
            elsewhere.append(speed[~mask].mean())
    print(f"listener head-pitch speed 0.2-1.2 s after a speaker phrase ends: {np.mean(after):.4f} rad/frame, "
          f"elsewhere {np.mean(elsewhere):.4f} (ratio {np.mean(after) / np.mean(elsewhere):.2f})")
    for name, values in rows.items():
        mean = np.nanmean(np.array(values), axis=0)
        best = int(np.nanargmax(mean))
        at = {l: mean[lags.index(l)] for l in (-25, 0, 25)}
        print(f"{name}: peak r={mean[best]:.3f} at lag {lags[best] / FPS:+.2f} s; "
              f"r at -1 s / 0 / +1 s = {at[-25]:.3f} / {at[0]:.3f} / {at[25]:.3f}")


if __name__ == "__main__":
    main()
