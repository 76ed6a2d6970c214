"""A listener's timing on voices it never heard: the audible reactions' lifts (nod and "mm-hmm" after
phrase ends, brow after emphasis) of one online generator, audio alone, on its own corpus's voices
and on others, each beside the real listeners of the same clips; and the ratio the issue's goal
asks for (>= 0.9: the timing kept on speech training never heard).

    python benchmarks/real_voices.py --model results/voices/generator_online \
        --corpus results/voices/corpus:test --other results/voices_heldout/corpus:val,test [--samples 10]

Each corpus is ROOT:SPLIT[,SPLIT]; the first is the one the ratio divides by.
"""
from __future__ import annotations

import argparse

import torch

from facereact.generator.model import load_generator
from facereact.generator.generate import generate_split
from facereact.generator.session import compile_steps
from facereact.metrics.behaviour_inputs import load_behaviour_truth

AUDIBLE = ("nod", "mmhmm", "brow")  # the reactions to what a voice does: phrase ends, emphasis


def lifts(generator, tokenizer, spec: str, samples: int, seed: int) -> tuple[dict, dict, int]:
    """The generated and real listeners' lifts of the audible reactions over the splits of
    ROOT:SPLITS (each split's figures weighted by its clips), and the clips."""
    root, splits = spec.split(":")
    generated, real, total = {r: 0.0 for r in AUDIBLE}, {r: 0.0 for r in AUDIBLE}, 0
    for split in splits.split(","):
        pred = generate_split(generator, tokenizer, root, split, samples, seed=seed, inputs="audio")
        truth = load_behaviour_truth(root, split, pred["pred_face"].shape[2])
        figures, _ = truth.score(pred["pred_face"])
        n = len(pred["pred_face"])
        for r in AUDIBLE:
            generated[r] += n * figures["reactions"][r]["lift"]
            real[r] += n * truth.figures["reactions"][r]["lift"]
        total += n
    return {r: v / total for r, v in generated.items()}, {r: v / total for r, v in real.items()}, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True, help="ROOT:SPLITS of the voices the model was trained on")
    ap.add_argument("--other", nargs="+", required=True, help="ROOT:SPLITS of other voices")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    generator, tokenizer = load_generator(args.model)
    compile_steps()
    rows = {spec: lifts(generator, tokenizer, spec, args.samples, args.seed) for spec in [args.corpus, *args.other]}
    base = rows[args.corpus][0]
    print(f"{args.model}, audio alone, K = {args.samples}; lift of each audible reaction (real listeners')")
    print("| voices | clips | " + " | ".join(f"{r} lift" for r in AUDIBLE) + " | " +
          " | ".join(f"{r} ratio (above 1)" for r in AUDIBLE) + " |")
    print("|---|---:|" + "---:|" * (2 * len(AUDIBLE)))
    for spec, (generated, real, n) in rows.items():
        cells = [f"{generated[r]:.3f} ({real[r]:.2f})" for r in AUDIBLE]
        ratios = [f"{generated[r] / base[r]:.2f} ({(generated[r] - 1) / (base[r] - 1):.2f})" if base[r] != 1 else "-"
                  for r in AUDIBLE]
        print(f"| {spec} | {n} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print("ratio: the lift on these voices over the lift on the training corpus's voices (the goal: >= 0.9); "
          "above 1: the same for the lift's excess over 1 (blind), the stricter reading")


if __name__ == "__main__":
    main()
