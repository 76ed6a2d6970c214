"""The exported step on onnxruntime against the session's compiled step, side by side.

    python benchmarks/export_step.py --model results/demo/generator_online [--samples 1 10]
        [--frames 750] [--rounds 3] [--face]

For each K: exports the model (facereact export, unchecked) into a temporary folder, then runs
the same frames of PCM (the export self-check's stand-in speech; with --face its face track too)
through `StreamingSession.step` (numba kernels, as `facereact stream` runs it) and through
`ExportedListener.step` (onnxruntime, one thread), alternating rounds, each step timed from PCM
to listener faces. Prints p50 and p99 per path and their ratio, measured in one process.
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from facereact.export.files import check_signal, export_listener
from facereact.export.runtime import ExportedListener
from facereact.generator.model import load_generator
from facereact.generator.sampling import own_sampling
from facereact.generator.session import StreamingSession, compile_steps


def _time(step, pcm: np.ndarray, faces: np.ndarray | None, per: int, rate: int) -> np.ndarray:
    took = []
    for t in range(len(pcm) // per):
        chunk = pcm[t * per:(t + 1) * per]
        t0 = time.perf_counter()
        step(chunk, rate, None if faces is None else faces[t])
        took.append(time.perf_counter() - t0)
    return np.array(took[5:]) * 1000  # the first frames fill caches


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="results/demo/generator_online")
    ap.add_argument("--samples", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--frames", type=int, default=750)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=int, default=16000)
    ap.add_argument("--face", action="store_true", help="a tracked face on every frame (else audio alone)")
    args = ap.parse_args()
    generator, tokenizer = load_generator(args.model)
    sampling = own_sampling(generator)
    compile_steps()
    pcm, faces, _ = check_signal(args.frames, args.rate, generator.config.fps, tokenizer, 0)
    faces = faces if args.face else None
    per = int(args.rate / generator.config.fps)
    print(f"{args.model}: guidance {sampling.guidance:g}, {args.frames} frames, "
          f"{'audio and face' if args.face else 'audio alone'}, {args.rounds} rounds alternating")
    print("| K | compiled p50 | compiled p99 | onnxruntime p50 | onnxruntime p99 | p50 ratio |")
    print("|---:|---:|---:|---:|---:|---:|")
    for k in args.samples:
        with tempfile.TemporaryDirectory() as folder:
            export_listener(args.model, folder, k, args.rate, sampling, check_frames=0)
            times: dict[str, list[np.ndarray]] = {"compiled": [], "onnxruntime": []}
            for _ in range(args.rounds):
                session = StreamingSession(generator, tokenizer, k, sampling, 0, read_emotion=True)
                times["compiled"].append(_time(lambda x, r, f: session.step(x.astype(np.float64), r, f),
                                               pcm, faces, per, args.rate))
                listener = ExportedListener(folder, 0)
                times["onnxruntime"].append(_time(listener.step, pcm, faces, per, args.rate))
        c, o = (np.concatenate(times[name]) for name in ("compiled", "onnxruntime"))
        print(f"| {k} | {np.percentile(c, 50):.2f} ms | {np.percentile(c, 99):.2f} ms | {np.percentile(o, 50):.2f} ms "
              f"| {np.percentile(o, 99):.2f} ms | {np.percentile(o, 50) / np.percentile(c, 50):.2f} |", flush=True)


if __name__ == "__main__":
    main()
