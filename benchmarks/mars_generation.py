"""Generating a MARS split: clips of many lengths batched padded (online generators) against one
batch per exact length (what every generator did before), in one run, and whether they agree.

    python benchmarks/mars_generation.py --model results/mars/a/generator_online --data results/mars/a/corpus
        [--split val] [--samples 10] [--frames 450]

--frames cuts each clip to its first frames (the sampling choice's draw).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from facereact.generator import generate
from facereact.generator.data import load_tokenized_pairs
from facereact.generator.model import load_generator
from facereact.generator.sampling import own_sampling


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--frames", type=int, default=None)
    args = ap.parse_args()
    generator, tokenizer = load_generator(args.model)
    pairs = load_tokenized_pairs(args.data, args.split, tokenizer, progress=False)
    lengths = [min(len(p.speaker_audio), args.frames or len(p.speaker_audio)) for p in pairs]
    batching = {"one length a batch": lambda lengths, padded: BATCHES(lengths, padded=False), "padded": BATCHES}
    out, seconds = {}, {}
    for name, batches in batching.items():
        generate.mars_batches = batches
        t0 = time.perf_counter()
        out[name] = generate.generate_mars_pairs(generator, tokenizer, pairs, args.samples, own_sampling(generator),
                                                 0, progress=False, frames=args.frames)
        seconds[name] = time.perf_counter() - t0
        print(f"{name}: {len(batches(lengths, not generator.config.offline))} batches, {seconds[name]:.1f} s")
    generate.mars_batches = BATCHES
    first, second = out.values()
    worst = max(float(np.abs(first[k] - second[k]).max()) for k in first)
    ratio = seconds["one length a batch"] / seconds["padded"]
    print(f"{len(pairs)} clips, {sum(lengths)} frames, K = {args.samples}: padded {ratio:.1f}x faster; "
          f"largest difference in the emotions {worst:.2e}")


BATCHES = generate.mars_batches

if __name__ == "__main__":
    main()
