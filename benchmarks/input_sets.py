"""What each input set scores: one generator fed audio alone, audio and face, or everything.

A robot has a microphone, maybe a camera, never emotion labels. For each generator folder given,
K reactions to the first ROWS validation rows with every input set (generator/inputs.py), plus the
old live path (a neutral face and zero emotion fed as if real), beside Mime and MeanSeq on the same
rows, scored against those rows' neighbours only. Trains nothing.

    python benchmarks/input_sets.py CORPUS GENDIR [GENDIR ...] [--rows 24 --samples 10 --seed 0]
        [--sets full audio+face audio+face+read audio neutral] [--offline-sets full audio+face audio]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from facereact.baselines.rule_based import TrainStats, rule_based
from facereact.data.eval_set import load_eval_set
from facereact.generator.data import load_tokenized_pairs
from facereact.generator.generate import generate_split
from facereact.generator.inputs import INPUT_SETS
from facereact.generator.model import load_generator
from facereact.generator.session import generate_clip
from facereact.layout import CLIP_FRAMES, EMOTION_DIM
from facereact.metrics import evaluate


def neutral_inputs(generator, tokenizer, args: argparse.Namespace) -> np.ndarray:
    """The old live path: a neutral face and zero emotion fed as if they were real."""
    pairs = load_tokenized_pairs(args.corpus, "val", tokenizer, progress=False)[:args.rows]
    face = np.tile(tokenizer.face_mean.numpy(), (CLIP_FRAMES, 1))
    emotion = np.zeros((CLIP_FRAMES, EMOTION_DIM), np.float32)
    return np.stack([generate_clip(generator, tokenizer, p.speaker_audio[:CLIP_FRAMES], face, emotion, args.samples,
                                   seed=args.seed + k)[1] for k, p in enumerate(pairs)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--rows", type=int, default=24)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sets", nargs="+", default=[*INPUT_SETS, "neutral"], help="for online generators")
    ap.add_argument("--offline-sets", nargs="+", default=["full", "audio+face", "audio"])
    args = ap.parse_args()
    torch.set_num_threads(2)
    truth = load_eval_set(args.corpus, "val", CLIP_FRAMES)
    rows = slice(0, args.rows)
    neighbour = truth.neighbour[rows, rows]
    listener, speaker = truth.listener_emotion[rows], truth.speaker_emotion[rows]

    def score(pred: np.ndarray) -> dict:
        return evaluate(pred, listener, speaker, neighbour)

    stats = TrainStats.from_eval_set(load_eval_set(args.corpus, "train", CLIP_FRAMES, with_neighbours=False))
    table = {name: score(rule_based(name, truth, stats, k=args.samples, seed=args.seed).emotion[rows])
             for name in ("Mime", "MeanSeq")}
    for folder in args.models:
        generator, tokenizer = load_generator(folder)
        setting = "offline" if generator.config.offline else "online"
        for input_set in (args.offline_sets if generator.config.offline else args.sets):
            t0 = time.perf_counter()
            if input_set == "neutral":
                pred = neutral_inputs(generator, tokenizer, args)
            else:
                pred = generate_split(generator, tokenizer, args.corpus, "val", args.samples, seed=args.seed,
                                      progress=False, inputs=input_set, rows=args.rows)["pred"]
            name = f"{Path(folder).name} ({setting}) {input_set}"
            table[name] = score(pred)
            print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\nval rows 0..{args.rows - 1} (their neighbours only), K = {args.samples}, seed {args.seed}\n")
    print("| system | FRCorr | FRDist | FRDiv |\n|---|---:|---:|---:|")
    for name, r in table.items():
        print(f"| {name} | {r['FRCorr']:.3f} | {r['FRDist']:.2f} | {r['FRDiv']:.4f} |")


if __name__ == "__main__":
    main()
