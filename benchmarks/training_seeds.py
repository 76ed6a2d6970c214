"""Each system's figures over training seeds on one corpus: the spread the recipe's goals are stated in.

    python benchmarks/training_seeds.py FOLDER [--seeds 0 1 2 3] [--split test] [--samples 10]
        [--generator-epochs 10] [--precision bf16] [--tag NAME]

FOLDER is what `facereact demo --out FOLDER` left, or a folder with only a corpus/ (`facereact
synth FOLDER/corpus --world NAME`), whose tokenizer it then trains as the demo does (seed 0). For
each seed s, under FOLDER/seeds/s/, it trains what is missing with the demo's recipe and seed s: the
online generator (on the demo's tokenizer, so the spread is the generator's and the baselines',
not the tokenizer's), its sampling chosen on val, the online Trans-VAE and BeLFusion; then one
benchmark per seed on --split (test by default: the choice saw val), the generator with every
input and hearing audio alone, the sampling draws seeded alike. Prints per system the mean and
spread (sample standard deviation) over training seeds, and the recipe's goals (issue 37) as
margins in units of twice the spread (the larger of the two systems'): > 1 means met by more than
twice the spread. The rule-based systems are the same for every seed. --generator-epochs other
other than 10 trains generator_online_eN beside (the baselines are shared); --precision trains
the generator so (TrainConfig.precision) and --tag NAME names its folders ..._NAME, beside the others.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from facereact.benchmark import benchmark
from facereact.generator.choose import choose_sampling
from facereact.generator.model import SAMPLING_KEY, GeneratorConfig
from facereact.generator.training import SCHEDULE as GENERATOR_SCHEDULE
from facereact.generator.training import train_generator
from facereact.demo import BASELINES, GENERATOR_EPOCHS, TOKENIZER_EPOCHS, already_trained, train_baseline
from facereact.model_files import read_config
from facereact.tokenizer.model import TokenizerConfig
from facereact.tokenizer.training import SCHEDULE as TOKENIZER_SCHEDULE
from facereact.tokenizer.training import train_tokenizer
from facereact.train.schedules import PRECISIONS

FIGURES = ("FRCorr", "FRDist", "FRDiv")
BEHAVIOUR = ("nod lift", "mmhmm lift", "nod peak s")


def tokenizer_of(folder: Path) -> None:
    """FOLDER/tokenizer, trained as the demo trains it when missing."""
    if not already_trained(folder / "tokenizer"):
        print("training the tokenizer (the demo's recipe)", flush=True)
        train_tokenizer(folder / "corpus", folder / "tokenizer", TokenizerConfig(),
                        replace(TOKENIZER_SCHEDULE, epochs=TOKENIZER_EPOCHS, seed=0), progress=False)


UNTAGGED_EPOCHS = 10  # the first runs' generators (the demo's recipe then) are in folders without _eN


def run_tag(generator_epochs: int, tag: str | None) -> str:
    """The suffix of a run's generator and benchmark folders."""
    return ("" if generator_epochs == UNTAGGED_EPOCHS else f"_e{generator_epochs}") + (f"_{tag}" if tag else "")


def train_seed(folder: Path, seed: int, generator_epochs: int = GENERATOR_EPOCHS, precision: str | None = None,
               tag: str | None = None) -> list[Path]:
    """The demo's trained systems for one seed (what exists is kept): their folders."""
    corpus, out = folder / "corpus", folder / "seeds" / str(seed)
    online = out / f"generator_online{run_tag(generator_epochs, tag)}"
    trained = read_config(online)["train"]["epochs"] if already_trained(online) else None
    if trained not in (None, generator_epochs):
        raise SystemExit(f"{online} holds a generator of {trained} epochs, not {generator_epochs}: move it or give --tag")
    if trained is None:
        print(f"seed {seed}: training the online generator ({generator_epochs} epochs)", flush=True)
        schedule = replace(GENERATOR_SCHEDULE, epochs=generator_epochs, seed=seed,
                           precision=precision or GENERATOR_SCHEDULE.precision)
        train_generator(corpus, folder / "tokenizer", online, GeneratorConfig(), schedule, progress=False)
    if SAMPLING_KEY not in read_config(online):
        choose_sampling(online, corpus, "val", seed, progress=False)
    for kind in BASELINES:
        if not already_trained(out / kind):
            train_baseline(kind, corpus, out / kind, True, seed=seed, progress=False)
    return [online, *(out / kind for kind in BASELINES)]


def system(name: str) -> str:
    """A row's system, whatever its model folder is called (each seed's folders are named alike)."""
    return name.split(" (")[0] + (" (audio)" if "hears audio" in name else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--split", default="test")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--generator-epochs", type=int, default=GENERATOR_EPOCHS)
    ap.add_argument("--precision", choices=PRECISIONS, default=None)
    ap.add_argument("--tag", default=None)
    args = ap.parse_args()
    folder = Path(args.folder)
    tokenizer_of(folder)
    rows: dict[str, list[dict]] = {}
    for seed in args.seeds:
        models = train_seed(folder, seed, args.generator_epochs, args.precision, args.tag)
        out = folder / "seeds" / str(seed) / f"bench_{args.split}{run_tag(args.generator_epochs, args.tag)}"
        results, _ = benchmark(folder / "corpus", out, models, args.split, args.samples, 0, progress=False,
                               inputs={str(models[0]): ("full", "audio")})
        behaviour = json.loads((out / "behaviour.json").read_text())
        for name, figures in results.items():
            rows.setdefault(system(name), []).append({**figures, **behaviour.get(name, {})})
        print(f"seed {seed}: scored on {args.split}", flush=True)
    stats = {name: {c: (np.mean([r[c] for r in runs]), np.std([r[c] for r in runs], ddof=1) if len(runs) > 1 else 0.0)
                    for c in FIGURES + BEHAVIOUR if all(r.get(c) is not None for r in runs)}
             for name, runs in rows.items()}
    print(f"\n{folder / 'corpus'}, {args.split}, K = {args.samples}, training seeds {args.seeds}: mean ± spread\n")
    print("| system | " + " | ".join(FIGURES + BEHAVIOUR) + " |\n|---|" + "---:|" * len(FIGURES + BEHAVIOUR))
    for name, cols in stats.items():
        cells = [f"{cols[c][0]:.4f} ± {cols[c][1]:.4f}" if c in cols else "-" for c in FIGURES + BEHAVIOUR]
        print(f"| {name} | " + " | ".join(cells) + " |")
    ours = next(n for n in stats if n.startswith("Ours") and not n.endswith("(audio)"))
    heard = ours + " (audio)"
    goals = [(ours, "Mime", "FRCorr", +1), (ours, "Mime", "FRDist", -1),
             *[(ours, b, "FRDist", -1) for b in stats if b.startswith(("Trans-VAE", "BeLFusion"))],
             (heard, "MeanSeq", "FRCorr", +1), (heard, "MeanSeq", "FRDist", -1)]
    print("\n| goal | difference | twice the spread | margin |\n|---|---:|---:|---:|")
    for a, b, figure, sign in goals:
        if a not in stats or b not in stats:
            continue
        gap = sign * (stats[a][figure][0] - stats[b][figure][0])
        twice = 2 * max(stats[a][figure][1], stats[b][figure][1])
        word = "ahead of" if sign > 0 else "below"
        print(f"| {a} {word} {b} on {figure} | {gap:+.4f} | {twice:.4f} | "
              f"{gap / twice if twice > 0 else float('inf'):.2f} |")


if __name__ == "__main__":
    main()
