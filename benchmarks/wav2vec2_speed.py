"""The wav2vec2 front end's cost: features of a whole clip, and one live frame per window length.

    python benchmarks/wav2vec2_speed.py [--checkpoint DIR] [--windows 0.5 1 2] [--frames 30]

Without --checkpoint it times a randomly initialised model of wav2vec2-base's sizes (12 layers,
768 wide; speed does not depend on the weights), written to a temporary folder and loaded the way
a user's checkpoint is. Needs `pip install -e .[wav2vec2]`.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from facereact.data.wav2vec2 import RATE, Wav2Vec2Features, Wav2Vec2Stream
from facereact.layout import MARS_FPS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--windows", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    ap.add_argument("--frames", type=int, default=30, help="live frames timed per window")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.checkpoint
        if folder is None:
            from transformers import Wav2Vec2Config, Wav2Vec2Model

            folder = Path(tmp) / "base"
            Wav2Vec2Model(Wav2Vec2Config()).save_pretrained(folder)  # the defaults are wav2vec2-base's sizes
        extractor = Wav2Vec2Features(folder)
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 0.1, 10 * RATE).astype(np.float32)
    extractor.features(audio[:RATE], RATE, MARS_FPS)  # warm-up
    t0 = time.perf_counter()
    extractor.features(audio, RATE, 10 * MARS_FPS)
    clip = time.perf_counter() - t0
    print(f"{torch.get_num_threads()} threads; whole clip: 10 s of audio in {clip:.2f} s ({10 / clip:.1f}x real time)")
    per = RATE // MARS_FPS
    for window in args.windows:
        stream = Wav2Vec2Stream(extractor, RATE, MARS_FPS, window)
        keep = int(round(window * MARS_FPS))
        for i in range(keep):  # fill the window first: a full window is the steady state
            stream.step(audio[i * per:(i + 1) * per])
        took = []
        for i in range(keep, keep + args.frames):
            t0 = time.perf_counter()
            stream.step(audio[i * per:(i + 1) * per])
            took.append((time.perf_counter() - t0) * 1000)
        took = np.array(took)
        print(f"live, {window:.1f} s window: p50 {np.percentile(took, 50):.1f} ms, p99 {np.percentile(took, 99):.1f} ms "
              f"a frame (the budget at {MARS_FPS} fps is {1000 / MARS_FPS:.1f} ms)")


if __name__ == "__main__":
    main()
