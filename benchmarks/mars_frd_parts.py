"""Where a generator's FRD on MARS goes: each emotion group of its reactions swapped for MeanSeq's,
its valence and arousal averaged over the K reactions, and their level moved toward the session's
training listeners', scored with react2025 on one split.

    python benchmarks/mars_frd_parts.py --model results/mars/a/generator_online --data results/mars/a/corpus
        [--split val] [--directions speaker] [--samples 10] [--seed 0]

A diagnostic, not a recipe: a swap that lowers FRD says which group is far from every appropriate
listener; the average over K says how much of it is each reaction's own drift; the session's level
how much a session's mood, known from its training listeners, is worth (docs/quality.md).
"""
from __future__ import annotations

import argparse

import numpy as np

from facereact.baselines.mars_rule_based import mars_rule_based, per_frame_means
from facereact.data.mars import MarsClip, MarsCorpus
from facereact.generator.data import load_tokenized_pairs
from facereact.generator.generate import generate_mars_pairs
from facereact.generator.model import load_generator
from facereact.generator.sampling import own_sampling
from facereact.layout import AFFECT, AU, EXPRESSION
from facereact.metrics.react2025 import evaluate_react2025

Predictions = dict[str, np.ndarray]


def swapped(ours: Predictions, other: Predictions, columns: slice) -> Predictions:
    """ours with `columns` taken from other."""
    out = {}
    for name, x in ours.items():
        out[name] = x.copy()
        out[name][:, :, columns] = other[name][:, :, columns]
    return out


def shared_over_k(ours: Predictions, columns: slice, keep: float = 0.0) -> Predictions:
    """`columns` pulled to their mean over the K reactions, keeping `keep` of each one's deviation."""
    out = {}
    for name, x in ours.items():
        mean = x[:, :, columns].mean(0, keepdims=True)
        out[name] = x.copy()
        out[name][:, :, columns] = mean + keep * (x[:, :, columns] - mean)
    return out


def session_levels(train: MarsCorpus, columns: slice) -> dict[tuple[int, str], np.ndarray]:
    """{(session, role): the mean over that session's training clips of each clip's mean `columns`}."""
    return {(session, role): np.mean([train.attributes(c)[:, columns].mean(0) for c in clips], 0)
            for session, roles in train.sessions().items() for role, clips in roles.items() if clips}


def toward_session_level(ours: Predictions, inputs: list[MarsClip], levels: dict, columns: slice,
                         share: float) -> Predictions:
    """Each reaction's `columns` shifted by `share` of the way from its own clip mean to the level of
    its input's session's training listeners (unchanged where the session has none)."""
    by_name, out = {c.name: c for c in inputs}, {}
    for name, x in ours.items():
        clip = by_name[name]
        out[name] = x.copy()
        level = levels.get((clip.session, clip.partner.role))
        if level is not None:
            out[name][:, :, columns] += share * (level - x[:, :, columns].mean(1, keepdims=True))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--directions", default="speaker", choices=("speaker", "both"))
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    corpus, train = MarsCorpus(args.data, args.split), MarsCorpus(args.data, "train")
    inputs = corpus.inputs(args.directions)
    generator, tokenizer = load_generator(args.model)
    names = {c.name for c in inputs}
    pairs = [p for p in load_tokenized_pairs(args.data, args.split, tokenizer, progress=False) if p.name in names]
    ours = generate_mars_pairs(generator, tokenizer, pairs, args.samples, own_sampling(generator), args.seed,
                               progress=False)
    means = per_frame_means(train)
    mean_seq = mars_rule_based("MeanSeq", corpus, inputs, means, args.samples, args.seed)
    rows = {"ours": ours, "MeanSeq": mean_seq, "Mime": mars_rule_based("Mime", corpus, inputs, means, args.samples)}
    for group, columns in (("AUs", AU), ("valence and arousal", AFFECT), ("expressions", EXPRESSION)):
        rows[f"ours, MeanSeq's {group}"] = swapped(ours, mean_seq, columns)
    rows["ours, valence and arousal the mean of its K"] = shared_over_k(ours, AFFECT)
    rows["ours, valence and arousal that mean + half of each one's deviation"] = shared_over_k(ours, AFFECT, 0.5)
    for group, columns in (("valence and arousal", AFFECT), ("every column", slice(None))):
        levels = session_levels(train, columns)
        for share in (0.5, 1.0):
            rows[f"ours, {group}'s level {share:g} of the way to the session's"] = toward_session_level(
                ours, inputs, levels, columns, share)
    print(f"{args.split}, {len(inputs)} inputs ({args.directions}), K = {args.samples}, seed {args.seed}\n")
    print("| predictions | FRC | FRD | S-MSE |\n|---|---:|---:|---:|")
    for name, predictions in rows.items():
        r = evaluate_react2025(predictions, corpus, args.directions)
        print(f"| {name} | {r['FRC']:.4f} | {r['FRD']:.2f} | {r['S-MSE']:.4f} |")


if __name__ == "__main__":
    main()
