"""What a conversation joining costs the conversations already streaming: the engine now (the
newcomer written into a free slot after the members' frames are out) against joining by merging
(every conversation's state copied into a new batch, all frames out after), alternating in one
process.

    python benchmarks/joins.py [--model results/demo/generator_online] [--conversations 32]
                               [--samples 1] [--every 4] [--ticks 200] [--rounds 2]

Every `every` ticks one conversation ends and a new one opens (robots coming and going). Prints,
per round and way, the median and worst delay of the members' frames on ticks where someone
joins (the members' step alone now; the whole tick when joining by merging, since the frames of
one tick go out together) and on the other ticks, and checks that both ways give the same tokens.
"""
from __future__ import annotations

import time

import numpy as np

from facereact.generator.cohort import merge, take
from facereact.generator.session import StreamingSession
from facereact.layout import AUDIO_DIM
from facereact.live.engine import ReactionEngine, SpeakerFrame

from engine_setup import engine_parser, served_model  # benchmarks/engine_setup.py


class MergingEngine(ReactionEngine):
    """Joins by merging the newcomers' session into the batch (the engine before free slots)."""

    def _join(self, group: StreamingSession, new: list[int]) -> None:
        live = [i for i, member in enumerate(self.rows) if member is not None]
        kept = take(self.batch, live) if self.batch is not None and len(live) < len(self.rows) else self.batch
        self.batch = merge([kept, group]) if kept is not None else group
        self.rows = [self.rows[i] for i in live] + new

    def close(self, cid: int) -> None:
        if self.conversations.pop(cid, None) is not None and cid in self.rows:
            self.rows[self.rows.index(cid)] = None  # freed at the next join's merge


def run(engine: ReactionEngine, conversations: int, every: int, ticks: int, merging: bool
        ) -> tuple[list[float], list[float], dict[int, list[np.ndarray]]]:
    rng = np.random.default_rng(0)
    audio = rng.normal(size=(ticks, conversations, AUDIO_DIM)).astype(np.float32)
    ids = [engine.open(seed=i) for i in range(conversations)]
    joining, steady, tokens, seed = [], [], {}, conversations
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
        for cid, frame in frames.items():
            tokens.setdefault(cid, []).append(frame.tokens)
    return joining, steady, tokens


def main() -> None:
    ap = engine_parser(__doc__, ticks=200)
    ap.add_argument("--every", type=int, default=4, help="one conversation leaves and one joins every this many ticks")
    args = ap.parse_args()
    generator, tokenizer = served_model(args.model)
    print(f"{args.conversations} conversations, K = {args.samples}, one leaves and one joins every {args.every} ticks")
    print("| round | way | members' frames, join ticks: p50 / max ms | other ticks: p50 / max ms |\n|---:|---|---|---|")
    for r in range(args.rounds):
        got = {}
        for name, engine in (("free slots (now)", ReactionEngine), ("merging (before)", MergingEngine)):
            joining, steady, got[name] = run(engine(generator, tokenizer, samples=args.samples), args.conversations,
                                             args.every, args.ticks, engine is MergingEngine)
            print(f"| {r + 1} | {name} | {np.median(joining) * 1e3:.1f} / {np.max(joining) * 1e3:.1f} | "
                  f"{np.median(steady) * 1e3:.1f} / {np.max(steady) * 1e3:.1f} |", flush=True)
        a, b = got.values()
        if a.keys() != b.keys() or any(not np.array_equal(np.array(a[c]), np.array(b[c])) for c in a):
            print("tokens differ between the two ways!")


if __name__ == "__main__":
    main()
