"""Streaming step latency (p50/p99), frames per second, and offline seconds per clip.

    python benchmarks/generator_speed.py [--model DIR] [--samples 10] [--steps 750] [--guidance 2]
        [--guidance-ramp 10] [--compare 2]

Without --model it times randomly initialised models of the default sizes (speed does not
depend on the weights).
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession, compile_steps, generate_clip
from facereact.layout import AUDIO_DIM, EMOTION_DIM, FACE_DIM, FPS
from facereact.nn import fast
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--steps", type=int, default=750)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance (2 listener passes)")
    ap.add_argument("--guidance-ramp", type=int, default=0, help="frames over which guidance ramps in")
    ap.add_argument("--compare", type=int, default=0, metavar="N",
                    help="N rounds of the compiled steps against the torch steps, alternating")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model:
        from facereact.generator.model import load_generator

        generator, tokenizer = load_generator(args.model)
    else:
        tokenizer = FaceTokenizer(TokenizerConfig()).eval()
        config = GeneratorConfig(levels=tokenizer.levels)
        generator = ReactionGenerator(config).eval()
    # The other setting's cost from a model of the same sizes (speed does not depend on the weights).
    online, offline = (generator if generator.config.offline == want
                       else ReactionGenerator(replace(generator.config, offline=want)).eval() for want in (False, True))
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(args.steps, AUDIO_DIM)).astype(np.float32)
    face = rng.normal(0, 0.1, (args.steps, FACE_DIM)).astype(np.float32)
    emotion = rng.random((args.steps, EMOTION_DIM)).astype(np.float32)

    how = Sampling(guidance=args.guidance, guidance_ramp=args.guidance_ramp)
    compile_steps()
    # --compare: the compiled steps (nn/fast.py) and the torch steps alternate, same inputs and seed
    settings = [True, False] * args.compare if args.compare else [True]
    results: dict[bool, list[np.ndarray]] = {}
    tokens: dict[bool, np.ndarray] = {}
    for compiled in settings:
        fast.set_enabled(compiled)
        session = StreamingSession(online, tokenizer, samples=args.samples, sampling=how)
        latencies, drawn = [], []
        for t in range(args.steps):
            t0 = time.perf_counter()
            drawn.append(session.step_features(audio[t], face[t], emotion[t]).tokens)
            latencies.append((time.perf_counter() - t0) * 1000)
        results.setdefault(compiled, []).append(np.array(latencies[25:]))  # the first second warms caches
        tokens[compiled] = np.array(drawn)
    fast.set_enabled(True)
    for compiled, runs in results.items():
        for lat in runs:
            print(f"streaming ({'compiled' if compiled else 'torch'} steps), K={args.samples}, guidance {args.guidance} "
                  f"(ramp {args.guidance_ramp}), "
                  f"{torch.get_num_threads()} threads: step p50 {np.percentile(lat, 50):.2f} ms, "
                  f"p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms; {1000 / lat.mean():.0f} frames/s "
                  f"({1000 / lat.mean() / FPS:.1f}x real time)")
    if args.compare:
        ratio = np.mean([r.mean() for r in results[True]]) / np.mean([r.mean() for r in results[False]])
        same = np.mean(tokens[True] == tokens[False])
        print(f"compiled / torch mean step: {ratio:.2f}; tokens equal: {100 * same:.1f}%")
    t0 = time.perf_counter()
    generate_clip(online, tokenizer, audio, face, emotion, samples=args.samples, sampling=how)
    print(f"online generation of one clip ({args.samples} x {args.steps} frames): {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    generate_clip(offline, tokenizer, audio, face, emotion, samples=args.samples, sampling=how)
    print(f"offline generation of one clip ({args.samples} x {args.steps} frames): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
