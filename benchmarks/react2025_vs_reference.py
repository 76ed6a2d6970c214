"""REACT 2025/2026 scoring, facereact against the organisers' formulas run the straightforward way.

    python benchmarks/react2025_vs_reference.py [--inputs 200 --t 3000 --k 10 --processes 2 --seed 0]
                                                [--reference-inputs 10]

Per input: K predictions and 10 targets of T frames (equal lengths: no resampling), emotion-like
AR(1) sequences (`metrics_vs_reference.ar1_like`); predictions near one target, as a trained
model gives. The reference loops over inputs in a pool of `--processes` workers and, per input,
over predictions and targets with the 2024 reference's CCC, tslearn's DTW and the TLCC loop
(`react2024_reference.py`; tslearn is benchmark-only). facereact scores the same inputs with
`facereact.metrics.react2025.score_input`. Prints both times and checks the figures agree.
The reference takes about 20 s an input here: --reference-inputs N runs it on the first N inputs
only and scales its time to all of them (said so in the table).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np
import torch

import react2024_reference as reference
from metrics_vs_reference import ar1_like
from facereact.layout import AFFECT, EMOTION_DIM, EXPRESSION
from facereact.metrics.react2025 import score_input


def reference_input(pred: np.ndarray, targets: np.ndarray, speaker: np.ndarray) -> dict[str, float]:
    frc = sum(max(reference._ccc(g, p) for g in targets) for p in pred)
    frd = sum(min(sum(w * reference.dtw(p.astype(np.float32)[:, a:b], g.astype(np.float32)[:, a:b])
                      for a, b, w in reference.DTW_GROUPS) for g in targets) for p in pred)
    flat = torch.from_numpy(pred.reshape(len(pred), -1)).double()
    smse = float(torch.cdist(flat, flat).pow(2).sum() / (len(pred) * (len(pred) - 1) * flat.shape[1]))
    frvar = float(torch.from_numpy(pred).double().var(dim=1).mean())
    tlcc = reference._tlcc_row(pred, speaker)
    cols = slice(AFFECT.start, EMOTION_DIM)
    mae = float(np.mean([np.abs(g[:, cols].astype(np.float64) - p[:, cols]).mean() for p in pred for g in targets]))
    return {"FRC": frc, "FRD": frd, "SMSE": smse, "FRVar": frvar, "TLCC": tlcc, "MAE": mae}


def build(inputs: int, t: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(inputs):
        targets = ar1_like(rng, (10,), t)
        pred = targets[rng.integers(0, 10, k)].copy()
        pred[..., AFFECT] += rng.normal(0, 0.05, pred[..., AFFECT].shape).astype(np.float32)
        e = pred[..., EXPRESSION] + rng.uniform(0, 0.05, pred[..., EXPRESSION].shape).astype(np.float32)
        pred[..., EXPRESSION] = e / e.sum(-1, keepdims=True)
        out.append((pred, targets, ar1_like(rng, (), t)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", type=int, default=200)
    ap.add_argument("--t", type=int, default=3000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference-inputs", type=int, default=None, help="run the reference on this many inputs "
                    "and scale its time to all (default: all)")
    args = ap.parse_args()
    measured = min(args.inputs, args.reference_inputs or args.inputs)
    data = build(args.inputs, args.t, args.k, args.seed)
    score_input(*build(1, 60, 2, 1)[0])  # compile (or load) the kernels outside the timing
    t0 = time.perf_counter()
    ours = [score_input(*item) for item in data]
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    # spawn, not fork: forking after the kernels' and torch's thread pools have run can hang the workers
    with mp.get_context("spawn").Pool(args.processes) as pool:
        ref = pool.starmap(reference_input, data[:measured])
    ref_s = (time.perf_counter() - t0) * args.inputs / measured
    scaled = "" if measured == args.inputs else f" (measured on {measured} inputs, scaled)"
    print(f"{args.inputs} inputs of {args.t} frames, K = {args.k}, 10 targets each")
    print(f"| | seconds |\n|---|---:|\n| organisers' formulas, pool of {args.processes}{scaled} | {ref_s:.1f} |\n"
          f"| facereact | {ours_s:.1f} |\n| ratio | {ref_s / ours_s:.1f}x |")
    bad = []
    for name, rtol in (("FRC", 1e-6), ("FRD", 1e-12), ("SMSE", 1e-6), ("FRVar", 1e-6), ("MAE", 1e-6), ("TLCC", 0)):
        a = np.array([r[name] for r in ref])
        b = np.array([getattr(o, name) for o in ours[:measured]])
        if not np.all(np.abs(a - b) <= rtol * np.abs(a)):
            bad.append(name)
    print("values agree: " + (f"yes, every figure of every input compared ({measured})" if not bad else f"NO: {bad}"))


if __name__ == "__main__":
    main()
