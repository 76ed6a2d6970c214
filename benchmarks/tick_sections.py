"""Where a live engine tick's time goes: each part of the step timed inside ticks of N conversations
at K, every frame on time, as `facereact serve` runs them (one torch thread, the compiled steps, the
speaker's emotion read off the face), with or without the speaker's face.

    python benchmarks/tick_sections.py [--model results/demo/generator_online] [--conversations 32]
                                       [--samples 1] [--ticks 330] [--face]

Prints the mean tick, the MFCC of the tick's frames and the frame messages beside it, and the
mean ms per tick of each part (the reader's line counts both its calls: the speaker's face and
the decoded listener's).
"""
from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from facereact.data.audio import frame_features
from facereact.layout import FACE_DIM, FPS
from facereact.live.engine import ReactionEngine, SpeakerFrame
from facereact.live.protocol import frame_message
from facereact.tokenizer.emotion import FaceEmotionReader

from engine_setup import engine_parser, served_model  # benchmarks/engine_setup.py

WARM = 30
RATE = 16000


def timed(owner, name: str, label: str, spent: dict[str, float]) -> None:
    """Replace owner.name by a wrapper adding its time to spent[label]."""
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        out = inner(*args, **kwargs)
        spent[label] += time.perf_counter() - t0
        return out

    setattr(owner, name, wrapper)


def main() -> None:
    ap = engine_parser(__doc__, ticks=330)
    ap.add_argument("--face", action="store_true", help="every conversation has a tracked face (default: audio only)")
    args = ap.parse_args()
    generator, tokenizer = served_model(args.model)
    spent: dict[str, float] = defaultdict(float)
    for owner, name, label in ((tokenizer, "encode_step", "face encoder"), (tokenizer, "decode_step", "decoding (with its reader)"),
                               (FaceEmotionReader, "step", "emotion reader, both calls"),
                               (generator, "speaker_embedding", "speaker embedding"), (generator, "speaker_step", "speaker layers"),
                               (generator, "listener_step", "listener layers"), (generator.head, "sample", "sampling")):
        timed(owner, name, label, spent)
    engine = ReactionEngine(generator, tokenizer, samples=args.samples, read_emotion=True, reserve=args.conversations)
    ids = [engine.open(seed=i) for i in range(args.conversations)]
    rng = np.random.default_rng(0)
    per, n = RATE // FPS, args.conversations
    ticks, features, messages = [], 0.0, 0.0
    for t in range(args.ticks):
        t0 = time.perf_counter()
        audio = frame_features(rng.normal(0, 0.1, n * per).astype(np.float32), RATE, n)
        t1 = time.perf_counter()
        for i, cid in enumerate(ids):
            face = tokenizer.face_mean.numpy() + rng.normal(0, 0.01, FACE_DIM).astype(np.float32) if args.face else None
            engine.submit(cid, SpeakerFrame(audio[i], face))
        if t == WARM:
            spent.clear()
        t2 = time.perf_counter()
        frames = engine.tick()
        t3 = time.perf_counter()
        for cid, frame in frames.items():
            frame_message(t, frame.face, frame.emotion)
        if t >= WARM:
            ticks.append(t3 - t2)
            features += t1 - t0
            messages += time.perf_counter() - t3
    count = args.ticks - WARM
    print(f"{n} conversations, K = {args.samples}, {'face' if args.face else 'audio only'}: tick mean "
          f"{np.mean(ticks) * 1e3:.2f} ms, p50 {np.median(ticks) * 1e3:.2f}; beside it, MFCC {features / count * 1e3:.2f} "
          f"ms and frame messages {messages / count * 1e3:.2f} ms")
    for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {label:28s} {seconds / count * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
