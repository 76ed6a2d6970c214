"""Sampling defaults chosen across worlds: each variant's mean rank over worlds and seeds.

    python benchmarks/sampling_worlds.py results/demo /tmp/worlds/reserved /tmp/worlds/lively \
        /tmp/worlds/tracked [--seeds 0 1 --split val]

Each folder is what `facereact demo --out FOLDER` left. Every variant of the house sampling
below is drawn on each folder's online generator at the choice's size (generator/choose.py: K = 5,
the first 15 s of each clip) under each seed, scored by the choice's rule among the variants of
that world and seed (lower is better), and ranked; the table gives each variant's figures per world
(mean over seeds) and its mean rank over worlds and seeds with the spread of the rank.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from facereact.generator.choose import Trials, score
from facereact.generator.model import load_generator
from facereact.generator.sampling import RECOMMENDED_ONLINE, recommended_for

# Changes to the house sampling (generator/sampling.py, RECOMMENDED_ONLINE); a change the house
# already has is left out, so the house is compared with every other variant.
VARIANTS = {"ramp 0": {"guidance_ramp": 0}, "ramp 10": {"guidance_ramp": 10}, "ramp 25": {"guidance_ramp": 25},
            "guidance 3": {"guidance": 3.0}, "guidance 6": {"guidance": 6.0}, "temperature 1.0": {"temperature": 1.0}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--split", default="val")
    args = ap.parse_args()
    house = RECOMMENDED_ONLINE
    variants = {f"house (g{house.guidance:g}, T {house.temperature:g}, ramp {house.guidance_ramp})": house,
                **{n: replace(house, **v) for n, v in VARIANTS.items() if replace(house, **v) != house}}
    names = list(variants)
    ranks = {n: [] for n in names}
    figures = {}
    for folder in map(Path, args.folders):
        generator, tokenizer = load_generator(folder / "generator_online")
        if recommended_for(generator.config) != house:
            raise SystemExit(f"{folder}: not an online generator sampled by the house's online recommendation")
        trials = Trials(generator, tokenizer, folder / "corpus", args.split, progress=False)
        for seed in args.seeds:
            rows = [trials.run(variants[n], 2000 + seed) for n in names]
            scores = score(rows, house=0)
            order = np.argsort(np.argsort([np.inf if s is None else s for s in scores]))
            for n, r, rank, s in zip(names, rows, order, scores):
                ranks[n].append(rank + 1)
                figures.setdefault((folder.name, n), []).append((r["FRCorr"], r["FRDist"], r["FRDiv"], r["timing_error"],
                                                                  np.nan if s is None else s))
        print(f"{folder.name} done", flush=True)
    print("\n| variant | " + " | ".join(f"{Path(f).name}: FRCorr / FRDist / timing" for f in args.folders) +
          " | mean rank |")
    print("|---|" + "---:|" * (len(args.folders) + 1))
    for n in names:
        cells = []
        for folder in map(Path, args.folders):
            m = np.mean(figures[(folder.name, n)], axis=0)
            cells.append(f"{m[0]:.3f} / {m[1]:.2f} / {m[3]:.3f}")
        print(f"| {n} | " + " | ".join(cells) + f" | {np.mean(ranks[n]):.2f} ± {np.std(ranks[n]):.2f} |")


if __name__ == "__main__":
    main()
