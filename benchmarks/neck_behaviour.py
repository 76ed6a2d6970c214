"""What the neck's limits do to the behaviour a person sees: the generated heads through
`live/neck.Neck` at the default limits and at a slower neck's, scored by the behaviour figures.

    python benchmarks/neck_behaviour.py --pred results/demo/pred_val_generator_online_audio.npz \
        --data results/demo/corpus [--split val] [--limits 2 20 1 5]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facereact.live.neck import Neck, NeckLimits
from facereact.metrics.behaviour_inputs import load_behaviour_truth
from facereact.metrics.files import read_npz

COLUMNS = ("nod lift", "nod peak s", "mmhmm lift", "nods/min", "head spectrum")


def through_neck(face: np.ndarray, limits: NeckLimits) -> np.ndarray:
    """(N, K, T, FACE_DIM) reactions, each clip's K heads through one neck starting at its first pose."""
    out = face.copy()
    for n in range(face.shape[0]):
        neck = Neck(limits, face[n, 0, 0], samples=face.shape[1])
        for t in range(face.shape[2]):
            out[n, :, t] = neck.follow(face[n, :, t])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pred", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--limits", type=float, nargs="+", default=[2.0, 20.0, 1.0, 5.0],
                    help="pairs of max speed (rad/s) and max acceleration (rad/s^2)")
    args = ap.parse_args()
    predictions = read_npz(Path(args.pred))
    if "pred_face" not in predictions:
        raise SystemExit(f"{args.pred}: no pred_face (generate writes it)")
    face = predictions["pred_face"]
    truth = load_behaviour_truth(args.data, args.split, face.shape[2])
    rows = {"as generated": truth.score(face)[1]}
    for speed, acceleration in zip(args.limits[::2], args.limits[1::2]):
        rows[f"neck {speed:g} rad/s, {acceleration:g} rad/s^2"] = truth.score(
            through_neck(face, NeckLimits(speed, acceleration)))[1]
    rows["real listeners"] = truth.score(np.asarray(truth.listener_face)[:, None])[1]
    print("| heads | " + " | ".join(COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in COLUMNS) + " |")


if __name__ == "__main__":
    main()
