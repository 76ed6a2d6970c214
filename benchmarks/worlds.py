"""The demo recipe on several worlds: the house sampling against each model's own choice.

    python benchmarks/worlds.py results/demo /tmp/worlds/reserved /tmp/worlds/lively /tmp/worlds/tracked \
        [--split test --seed 0 --out results/worlds]

Each folder is what `facereact demo --out FOLDER` left (corpus/, tokenizer/, generator_online/,
trans_vae/, belfusion/; `facereact synth FOLDER/corpus --world NAME` first for another world).
The online generator chooses its sampling on val if it has not (generator/choose.py); then every
system is scored on --split (test by default: the choice saw val) with the generator drawing
under its own choice (full inputs and audio alone) and under the house sampling, one benchmark
each, cached under OUT/<world>/. Prints per world the REACT and behaviour figures side by side and
what each model chose.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from facereact.benchmark import benchmark
from facereact.generator.choose import CHOICE_FILE, choose_sampling
from facereact.generator.model import load_generator
from facereact.generator.sampling import recommended_for

SYSTEMS = ("Mime", "MeanSeq", "Trans-VAE", "BeLFusion", "Ours")
BEHAVIOUR = ("nod lift", "mmhmm lift", "smile lift", "concern lift", "nod peak s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--split", default="test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--out", default="results/worlds")
    args = ap.parse_args()
    for folder in map(Path, args.folders):
        corpus, online = folder / "corpus", folder / "generator_online"
        if not (online / CHOICE_FILE).is_file():
            choose_sampling(online, corpus, "val", progress=False)
        chosen = json.loads((online / CHOICE_FILE).read_text())
        generator, _ = load_generator(online)
        house = recommended_for(generator.config)
        models = [online, folder / "trans_vae", folder / "belfusion"]
        out = Path(args.out) / folder.name
        own, _ = benchmark(corpus, out / "own", models, args.split, args.samples, args.seed, progress=False,
                           inputs={str(online): ("full", "audio")})
        own_behaviour = json.loads((out / "own" / "behaviour.json").read_text())
        rows = {name: (own[name], own_behaviour.get(name, {})) for name in own}
        if generator.chosen_sampling != house:  # else the house's row is the row above
            fixed, _ = benchmark(corpus, out / "house", [online], args.split, args.samples, args.seed,
                                 progress=False, sampling=house)
            house_behaviour = json.loads((out / "house" / "behaviour.json").read_text())
            ours = next(k for k in fixed if k.startswith("Ours"))  # the one generator row of the house run
            rows[f"{ours} [house sampling]"] = (fixed[ours], house_behaviour.get(ours, {}))
        print(f"\n## {folder.name}: {args.split}, K = {args.samples}, seed {args.seed}; chose guidance "
              f"{chosen['chosen']['guidance']:g}, temperature {chosen['chosen']['temperature']:g} "
              f"(house {house.guidance:g}, {house.temperature:g}; {chosen['seconds']:.0f} s)\n")
        print("| system | FRCorr | FRDist | FRDiv | " + " | ".join(BEHAVIOUR) + " |")
        print("|---|---:|---:|---:|" + "---:|" * len(BEHAVIOUR))
        for name, (r, b) in rows.items():
            if name != "GroundTruth" and not name.startswith(SYSTEMS):
                continue
            cells = [f"{r['FRCorr']:.4f}", f"{r['FRDist']:.2f}", "-" if r["FRDiv"] is None else f"{r['FRDiv']:.4f}"]
            cells += ["-" if b.get(c) is None else f"{b[c]:.2f}" for c in BEHAVIOUR]
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
