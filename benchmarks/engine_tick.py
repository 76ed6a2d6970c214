"""One tick of the live engine (every conversation's frame waiting, no sockets): the compiled steps
(nn/fast.py) against the torch steps, alternating in one process.

    python benchmarks/engine_tick.py [--model results/demo/generator_online] [--conversations 1 8 32]
                                     [--samples 1 10] [--ticks 80] [--rounds 2]

Prints each setting's median tick per round; the first 20 ticks of a round warm caches.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from facereact.generator.model import load_generator
from facereact.generator.session import compile_steps
from facereact.layout import AUDIO_DIM, FACE_DIM
from facereact.live.engine import ReactionEngine, SpeakerFrame
from facereact.nn import fast


def median_tick(generator, tokenizer, conversations: int, samples: int, ticks: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    engine = ReactionEngine(generator, tokenizer, samples=samples)
    ids = [engine.open(seed=i) for i in range(conversations)]
    seconds = []
    for _ in range(ticks):
        for cid in ids:
            engine.submit(cid, SpeakerFrame(rng.normal(size=AUDIO_DIM).astype(np.float32),
                                            rng.normal(0, 0.1, FACE_DIM).astype(np.float32)))
        t0 = time.perf_counter()
        engine.tick()
        seconds.append(time.perf_counter() - t0)
    return float(np.median(seconds[20:]) * 1000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="results/demo/generator_online")
    ap.add_argument("--conversations", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--samples", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--ticks", type=int, default=80)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)  # as `facereact serve` runs
    generator, tokenizer = load_generator(args.model)
    compile_steps()
    print("| conversations | K | compiled tick ms | torch tick ms | ratio |\n|---:|---:|---|---|---:|")
    for samples in args.samples:
        for n in args.conversations:
            got: dict[bool, list[float]] = {True: [], False: []}
            for _ in range(args.rounds):
                for compiled in (True, False):
                    fast.set_enabled(compiled)
                    got[compiled].append(median_tick(generator, tokenizer, n, samples, args.ticks, seed=n))
            fast.set_enabled(True)
            ratio = np.mean(got[True]) / np.mean(got[False])
            print(f"| {n} | {samples} | {' / '.join(f'{v:.1f}' for v in got[True])} | "
                  f"{' / '.join(f'{v:.1f}' for v in got[False])} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()
