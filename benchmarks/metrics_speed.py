"""Seconds per REACT metric on the issue's reference-sized input, and DTW cells per second.

    python benchmarks/metrics_speed.py [--n 100 --k 10 --neighbours 10 --t 750 --seed 0]

The input is seeded and emotion-like: AU columns are on/off runs, valence/arousal smooth curves,
expression columns a softmax of smooth logits; predictions are independent draws of the same kind
(a generator that has learnt the marginals but not the speaker), so no pruning is flattered by
predictions that equal a neighbour.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from facereact.layout import AFFECT, AU, EMOTION_DIM, EXPRESSION
from facereact.metrics import evaluate


def emotion_like(rng: np.random.Generator, shape: tuple[int, ...], t: int) -> np.ndarray:
    out = np.zeros(shape + (t, EMOTION_DIM), np.float32)
    n_au = AU.stop - AU.start
    flips = rng.random(shape + (t, n_au)) < rng.uniform(0.005, 0.05, shape + (1, n_au))
    out[..., AU] = (np.cumsum(flips, axis=-2) + (rng.random(shape + (1, n_au)) < 0.3)) % 2

    def smooth(k: int) -> np.ndarray:
        x = np.cumsum(rng.normal(0, 0.08, shape + (t, k)), axis=-2)
        return x - x.mean(axis=-2, keepdims=True)

    out[..., AFFECT] = np.tanh(smooth(AFFECT.stop - AFFECT.start))
    logits = 2 * smooth(EXPRESSION.stop - EXPRESSION.start)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    out[..., EXPRESSION] = e / e.sum(-1, keepdims=True)
    return out


def neighbour_matrix(rng: np.random.Generator, n: int, per_row: float) -> np.ndarray:
    """Random appropriateness with `per_row` neighbours a row on average, the diagonal among them."""
    m = (rng.random((n, n)) < (per_row - 1) / (n - 1)).astype(np.float64)
    np.fill_diagonal(m, 1.0)
    return m


def build_input(n: int, k: int, neighbours: float, t: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = neighbour_matrix(rng, n, neighbours)
    return {"pred": emotion_like(rng, (n, k), t), "listener_gt": emotion_like(rng, (n,), t),
            "speaker_gt": emotion_like(rng, (n,), t), "neighbour": m}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--neighbours", type=int, default=10)
    ap.add_argument("--t", type=int, default=750)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", default="official", choices=("official", "corrected"))
    args = ap.parse_args()
    data = build_input(args.n, args.k, args.neighbours, args.t, args.seed)
    evaluate(**{key: v[:2, :2, :50] if key == "pred" else v[:2, :50] if v.ndim == 3 else v[:2, :2]
                for key, v in data.items()})  # compile the kernels before timing
    t0 = time.perf_counter()
    result = evaluate(**data, mode=args.mode, progress=True)
    total = time.perf_counter() - t0
    print(f"input: N={args.n} K={args.k} T={args.t}, neighbours per row {data['neighbour'].sum(1).mean():.2f}, "
          f"mode {args.mode}")
    for key, seconds in result["seconds"].items():
        print(f"  {key:8s} {seconds:8.3f} s   value {result.get(key, float('nan')):.6f}")
    work = result["work"]
    print(f"  total    {total:8.3f} s")
    print(f"DTW cells (N x K x neighbours x 3 groups x T^2): {work['dtw_cells'] / 1e9:.2f} G; computed after "
          f"pruning {work['dtw_cells_computed'] / 1e9:.2f} G ({work['dtw_cells_computed'] / work['dtw_cells']:.1%})")
    dt = result["seconds"]["FRDist"]
    print(f"DTW cells per second: {work['dtw_cells'] / dt / 1e9:.2f} G effective, "
          f"{work['dtw_cells_computed'] / dt / 1e9:.2f} G computed")


if __name__ == "__main__":
    main()
