"""Ticks where some conversations' frames are late: held in the batch (the engine's default)
against leaving and rejoining it (max_held 0, the engine before), alternating in one process.

    python benchmarks/late_frames.py [--model results/demo/generator_online] [--conversations 32]
                                     [--samples 1] [--late 3] [--ticks 120] [--rounds 2]

Every `late`-th conversation has a frame only every other tick (it steps one tick and misses the
next); the others have one every tick. Prints the median and 90th percentile tick per round, and
checks that both ways give every conversation the same tokens.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from facereact.generator.session import compile_steps
from facereact.generator.training import load_generator
from facereact.layout import AUDIO_DIM, FACE_DIM
from facereact.live.engine import ReactionEngine, SpeakerFrame


def run(generator, tokenizer, conversations: int, samples: int, late: int, ticks: int, max_held: int
        ) -> tuple[list[float], dict[int, list[np.ndarray]]]:
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(ticks, conversations, AUDIO_DIM)).astype(np.float32)
    face = rng.normal(0, 0.1, (ticks, conversations, FACE_DIM)).astype(np.float32)
    engine = ReactionEngine(generator, tokenizer, samples=samples, max_held=max_held)
    ids = [engine.open(seed=i) for i in range(conversations)]
    sent, seconds, tokens = [0] * conversations, [], {cid: [] for cid in ids}
    for tick in range(ticks):
        for i, cid in enumerate(ids):
            if i % late == 0 and tick % 2 == 1 and tick > 2:
                continue  # late: its frame comes after this tick
            engine.submit(cid, SpeakerFrame(audio[sent[i], i], face[sent[i], i]))
            sent[i] += 1
        t0 = time.perf_counter()
        frames = engine.tick()
        seconds.append(time.perf_counter() - t0)
        for cid, frame in frames.items():
            tokens[cid].append(frame.tokens)
    return seconds[20:], tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="results/demo/generator_online")
    ap.add_argument("--conversations", type=int, default=32)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--late", type=int, default=3, help="every late-th conversation is late every other tick")
    ap.add_argument("--ticks", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)  # as `facereact serve` runs
    generator, tokenizer = load_generator(args.model)
    compile_steps()
    print(f"{args.conversations} conversations, K = {args.samples}, every {args.late}th late every other tick")
    print("| round | held: p50 / p90 ms | leave and rejoin: p50 / p90 ms | ratio of means |\n|---:|---|---|---:|")
    for r in range(args.rounds):
        held, held_tokens = run(generator, tokenizer, args.conversations, args.samples, args.late, args.ticks, 12)
        left, left_tokens = run(generator, tokenizer, args.conversations, args.samples, args.late, args.ticks, 0)
        same = all(np.array_equal(np.array(held_tokens[c]), np.array(left_tokens[c])) for c in held_tokens)
        print(f"| {r + 1} | {np.median(held) * 1e3:.1f} / {np.percentile(held, 90) * 1e3:.1f} | "
              f"{np.median(left) * 1e3:.1f} / {np.percentile(left, 90) * 1e3:.1f} | "
              f"{np.mean(held) / np.mean(left):.2f} |" + ("" if same else " tokens differ!"), flush=True)


if __name__ == "__main__":
    main()
