"""How much of each system's FRCorr and FRDist is a clip's first second, beside Mime.

The synthetic corpora compute every clip's emotion from that clip alone, and arousal from the
last half second of motion, so each clip's arousal rises from tanh(-1) = -0.76 over its first
half second, the speaker's and the listener's alike. Copying the speaker (Mime) copies that rise;
a generator has to learn it. This scores prediction files whole and with the first `--cut`
frames of every clip left out (predictions, listeners and speakers alike), Mime beside them.

    python benchmarks/clip_start.py --data results/demo/corpus --cut 25 P1.npz [P2.npz ...]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facereact.metrics import evaluate
from facereact.metrics.files import load_with_corpus

FIGURES = ("FRCorr", "FRDist", "FRDiv")


def scores(pred: np.ndarray, data: dict[str, np.ndarray], cut: int) -> dict[str, float]:
    result = evaluate(pred[:, :, cut:], data["listener_gt"][:, cut:], data["speaker_gt"][:, cut:], data["neighbour"])
    return {k: float(result[k]) for k in FIGURES}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("predictions", nargs="+", help="prediction files of `facereact generate`")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--cut", type=int, default=25, help="frames left out at every clip's start (default 25: 1 s)")
    args = ap.parse_args()
    rows = []
    for i, path in enumerate(args.predictions):
        data = load_with_corpus(path, args.data, args.split)
        systems = [(Path(path).stem, data["pred"])]
        if i == 0:  # the speaker's own emotion, as many times as the first file has reactions
            systems.insert(0, ("Mime", np.repeat(data["speaker_gt"][:, None], data["pred"].shape[1], 1)))
        for name, pred in systems:
            whole, later = scores(pred, data, 0), scores(pred, data, args.cut)
            rows.append(f"| {name} | " + " | ".join(f"{whole[k]:.4f} | {later[k]:.4f}" for k in FIGURES) + " |")
    head = " | ".join(f"{k} | {k} from frame {args.cut}" for k in FIGURES)
    print(f"| system | {head} |\n|---|" + "---:|" * (2 * len(FIGURES)))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
