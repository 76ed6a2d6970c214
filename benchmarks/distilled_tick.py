"""Live engine ticks of a guided generator (two listener passes) against its distilled student
(one pass, `facereact train distill`, or a shallower one, `--layers`), or of any two generators,
interleaved tick by tick in one process so that the machine's drift falls on both alike.

    python benchmarks/distilled_tick.py [--teacher results/demo/generator_online]
                                        [--student results/q19/distill4] [--cases 32x1 8x10 1x10]
                                        [--ticks 330]

A case CxK is C conversations at K reactions, every frame on time, each model at its recommended
sampling; the first 30 ticks warm caches. Prints the mean, median and 90th percentile tick and
the ratio of means.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from facereact.generator.sampling import recommended_for
from facereact.layout import AUDIO_DIM
from facereact.live.engine import ReactionEngine, SpeakerFrame

from engine_setup import served_model  # benchmarks/engine_setup.py

WARM = 30


def case(text: str) -> tuple[int, int]:
    conversations, samples = text.lower().split("x")
    return int(conversations), int(samples)


def interleaved(models: dict[str, tuple], conversations: int, samples: int, ticks: int) -> dict[str, np.ndarray]:
    engines = {}
    for name, (generator, tokenizer) in models.items():
        engine = ReactionEngine(generator, tokenizer, samples=samples)
        engines[name] = (engine, [engine.open(seed=i) for i in range(conversations)], [])
    rng = np.random.default_rng(0)
    for tick in range(ticks):
        audio = rng.normal(size=(conversations, AUDIO_DIM)).astype(np.float32)
        for engine, ids, seconds in engines.values():
            for i, cid in enumerate(ids):
                engine.submit(cid, SpeakerFrame(audio[i]))
            t0 = time.perf_counter()
            engine.tick()
            if tick >= WARM:
                seconds.append(time.perf_counter() - t0)
    return {name: np.array(seconds) * 1e3 for name, (_, _, seconds) in engines.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher", default="results/demo/generator_online")
    ap.add_argument("--student", default="results/q19/distill4")
    ap.add_argument("--cases", type=case, nargs="+", default=[(32, 1), (8, 10), (1, 10)])
    ap.add_argument("--ticks", type=int, default=330)
    args = ap.parse_args()
    models = {}
    for folder in (args.teacher, args.student):
        generator, tokenizer = served_model(folder)
        passes = 1 if recommended_for(generator.config).guidance == 1.0 else 2
        models[f"{Path(folder).name}: {generator.config.layers} layers, {passes} pass{'es' if passes > 1 else ''}"] = \
            (generator, tokenizer)
    print("| conversations x K | model | mean ms | p50 ms | p90 ms | ratio of means |\n|---|---|---:|---:|---:|---:|")
    for conversations, samples in args.cases:
        ms = interleaved(models, conversations, samples, args.ticks)
        base = None
        for name, t in ms.items():
            base = t.mean() if base is None else base
            print(f"| {conversations} x {samples} | {name} | {t.mean():.2f} | {np.median(t):.2f} | "
                  f"{np.percentile(t, 90):.2f} | {t.mean() / base:.2f} |", flush=True)


if __name__ == "__main__":
    main()
