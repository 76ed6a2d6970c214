"""What a conversation joining costs the conversations already streaming, three ways alternating in
one process: the engine now (the newcomer starts over in a free slot, cohort.restart, and takes its
first frame in the members' pass), the engine of 2026-12-01 night (the newcomer's first frame in a
pass of its own after the members' frames are out, then written into a free slot, cohort.place),
and joining by merging (every conversation's state copied into a new batch, all frames out after).

    python benchmarks/joins.py [--model results/demo/generator_online] [--conversations 32]
                               [--samples 1] [--every 4] [--ticks 200] [--rounds 2]

Every `every` ticks one conversation ends and a new one opens (robots coming and going). Prints,
per round and way, the median and worst delay of the members' frames on ticks where someone
joins (the members' pass; the whole tick when merging, since the frames of one tick go out
together) and on the other ticks, the mean whole join tick (the server's CPU), and how many
tokens differ from the first way's (float rounding of a newcomer's first frame in a batch).
"""
from __future__ import annotations

import time

import numpy as np

from facereact.generator.cohort import merge, place, take
from facereact.generator.session import StreamingSession
from facereact.layout import AUDIO_DIM
from facereact.live.engine import ReactionEngine, SpeakerFrame

from engine_setup import engine_parser, served_model  # benchmarks/engine_setup.py


class PlacingEngine(ReactionEngine):
    """Newcomers step their first frame in a pass of their own, then take free slots (cohort.place)."""

    def _restart_newcomers(self) -> None:
        pass

    def _join(self, group: StreamingSession, new: list[int]) -> None:
        free = [i for i, member in enumerate(self.rows) if member is None]
        if self.batch is None or len(free) < len(new):
            return super()._join(group, new)
        place(self.batch, group, free[:len(new)])
        for slot, cid in zip(free, new):
            self.rows[slot] = cid


class MergingEngine(ReactionEngine):
    """Joins by merging the newcomers' session into the batch (the engine before free slots)."""

    def _restart_newcomers(self) -> None:
        pass

    def _join(self, group: StreamingSession, new: list[int]) -> None:
        live = [i for i, member in enumerate(self.rows) if member is not None]
        kept = take(self.batch, live) if self.batch is not None and len(live) < len(self.rows) else self.batch
        self.batch = merge([kept, group]) if kept is not None else group
        self.rows = [self.rows[i] for i in live] + new

    def close(self, cid: int) -> None:
        if self.conversations.pop(cid, None) is not None and cid in self.rows:
            self.rows[self.rows.index(cid)] = None  # freed at the next join's merge


def run(engine: ReactionEngine, conversations: int, every: int, ticks: int, merging: bool
        ) -> tuple[list[float], list[float], list[float], dict[int, list[np.ndarray]]]:
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(ticks, conversations, AUDIO_DIM)).astype(np.float32)
    ids = [engine.open(seed=i) for i in range(conversations)]
    joining, steady, whole_join, tokens, seed = [], [], [], {}, conversations
    for tick in range(ticks):
        join = tick > 20 and tick % every == 0
        if join:  # one leaves, one comes: the newcomer takes the leaver's place in the list
            engine.close(ids[tick % conversations])
            ids[tick % conversations] = engine.open(seed=seed)
            seed += 1
        for i, cid in enumerate(ids):
            engine.submit(cid, SpeakerFrame(audio[tick, i]))
        t0 = time.perf_counter()
        frames = engine.tick_members()
        members = time.perf_counter() - t0
        frames.update(engine.tick_new())
        whole = time.perf_counter() - t0
        if tick > 20:
            (joining if join else steady).append(whole if merging else members)
            if join:
                whole_join.append(whole)
        for cid, frame in frames.items():
            tokens.setdefault(cid, []).append(frame.tokens)
    return joining, steady, whole_join, tokens


def main() -> None:
    ap = engine_parser(__doc__, ticks=200)
    ap.add_argument("--every", type=int, default=4, help="one conversation leaves and one joins every this many ticks")
    args = ap.parse_args()
    generator, tokenizer = served_model(args.model)
    print(f"{args.conversations} conversations, K = {args.samples}, one leaves and one joins every {args.every} ticks")
    print("| round | way | members' frames, join ticks: p50 / max ms | other ticks: p50 / max ms | "
          "whole join tick: mean ms | tokens unlike the first way's |\n|---:|---|---|---|---:|---:|")
    ways = (("restart in a free slot (now)", ReactionEngine), ("own pass, then a free slot", PlacingEngine),
            ("merging", MergingEngine))
    for r in range(args.rounds):
        first = None
        for name, engine in ways:
            joining, steady, whole, got = run(engine(generator, tokenizer, samples=args.samples), args.conversations,
                                              args.every, args.ticks, engine is MergingEngine)
            first = got if first is None else first
            unlike = sum(int((np.array(first[c]) != np.array(got[c])).sum()) for c in got)
            print(f"| {r + 1} | {name} | {np.median(joining) * 1e3:.1f} / {np.max(joining) * 1e3:.1f} | "
                  f"{np.median(steady) * 1e3:.1f} / {np.max(steady) * 1e3:.1f} | {np.mean(whole) * 1e3:.1f} | "
                  f"{unlike} of {sum(len(t) for t in got.values())} |", flush=True)


if __name__ == "__main__":
    main()
