"""Rendering speed: a 750-frame strip of 4 faces (the issue's target: under 15 s on 2 CPU cores).

    python benchmarks/render_speed.py [--size 160]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from facereact.layout import CLIP_FRAMES, FACE_DIM, face_index
from facereact.viz.animate import strip_frames, write_gif, write_mp4
from facereact.viz.face import FaceStyle, render_face


def moving_face(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(CLIP_FRAMES) / 25.0
    face = np.clip(rng.normal(0.05, 0.05, (CLIP_FRAMES, FACE_DIM)), 0, 1)
    face[:, face_index("jawOpen")] = 0.3 * (1 + np.sin(2 * np.pi * 3 * t))
    face[:, face_index("mouthSmileLeft")] = face[:, face_index("mouthSmileRight")] = 0.5 * (1 + np.sin(t))
    face[:, face_index("pitch")] = 0.1 * np.sin(2 * np.pi * t)
    return face.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=160)
    args = parser.parse_args()
    style = FaceStyle(size=args.size)
    tracks = [(f"face {i}", moving_face(i)) for i in range(4)]
    t0 = time.perf_counter()
    for frame in tracks[0][1][:200]:
        render_face(frame, style)
    per_face = (time.perf_counter() - t0) / 200
    t0 = time.perf_counter()
    frames = list(strip_frames(tracks, style, progress=False))
    t_draw = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        gif = write_gif(frames, Path(tmp) / "strip.gif")
        t_gif = time.perf_counter() - t0
        t0 = time.perf_counter()
        mp4 = write_mp4(frames, Path(tmp) / "strip.mp4")
        t_mp4 = time.perf_counter() - t0
        sizes = gif.stat().st_size / 1e6, mp4.stat().st_size / 1e6
    print(f"one face: {per_face * 1e3:.2f} ms ({args.size} px)")
    print(f"{CLIP_FRAMES} frames x 4 faces: draw {t_draw:.2f} s, GIF {t_gif:.2f} s ({sizes[0]:.1f} MB), "
          f"MP4 {t_mp4:.2f} s ({sizes[1]:.1f} MB); total {t_draw + t_gif + t_mp4:.2f} s")


if __name__ == "__main__":
    main()
