"""Ticks where some conversations' frames are late (they stay in the batch, not stepped) against
ticks where every frame is on time, alternating in one process.

    python benchmarks/late_frames.py [--model results/demo/generator_online] [--conversations 32]
                                     [--samples 1] [--late 3] [--ticks 120] [--rounds 2]

Every `late`-th conversation has a frame only every other tick (it steps one tick and misses the
next); the others have one every tick. Prints the median and 90th percentile tick per round, and
checks that a conversation's tokens are the same whether its frames came late or on time.
"""
from __future__ import annotations

import time

import numpy as np

from facereact.layout import AUDIO_DIM, FACE_DIM
from facereact.live.engine import ReactionEngine, SpeakerFrame

from engine_setup import engine_parser, served_model  # benchmarks/engine_setup.py


def run(generator, tokenizer, conversations: int, samples: int, late: int, ticks: int
        ) -> tuple[list[float], dict[int, list[np.ndarray]]]:
    """late 0: every frame on time."""
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(ticks, conversations, AUDIO_DIM)).astype(np.float32)
    face = rng.normal(0, 0.1, (ticks, conversations, FACE_DIM)).astype(np.float32)
    engine = ReactionEngine(generator, tokenizer, samples=samples)
    ids = [engine.open(seed=i) for i in range(conversations)]
    sent, seconds, tokens = [0] * conversations, [], {cid: [] for cid in ids}
    for tick in range(ticks):
        for i, cid in enumerate(ids):
            if late and i % late == 0 and tick % 2 == 1 and tick > 2:
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
    ap = engine_parser(__doc__, ticks=120)
    ap.add_argument("--late", type=int, default=3, help="every late-th conversation is late every other tick")
    args = ap.parse_args()
    generator, tokenizer = served_model(args.model)
    print(f"{args.conversations} conversations, K = {args.samples}, every {args.late}th late every other tick")
    print("| round | some late: p50 / p90 ms | all on time: p50 / p90 ms | ratio of means |\n|---:|---|---|---:|")
    for r in range(args.rounds):
        late, late_tokens = run(generator, tokenizer, args.conversations, args.samples, args.late, args.ticks)
        on_time, on_time_tokens = run(generator, tokenizer, args.conversations, args.samples, 0, args.ticks)
        same = all(np.array_equal(np.array(late_tokens[c]), np.array(on_time_tokens[c][:len(late_tokens[c])]))
                   for c in late_tokens)
        print(f"| {r + 1} | {np.median(late) * 1e3:.1f} / {np.percentile(late, 90) * 1e3:.1f} | "
              f"{np.median(on_time) * 1e3:.1f} / {np.percentile(on_time, 90) * 1e3:.1f} | "
              f"{np.mean(late) / np.mean(on_time):.2f} |" + ("" if same else " tokens differ!"), flush=True)


if __name__ == "__main__":
    main()
