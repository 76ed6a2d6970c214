"""facereact's REACT 2024 metrics against the challenge's own loops, side by side in one run.

    python benchmarks/metrics_vs_reference.py [--kinds independent ar1 near --n 100 --k 10 --t 750
                                               --neighbours 11.2 --processes 2 --seed 0]

For each input kind, on the same seeded arrays: the reference (`react2024_reference.py`: tslearn's
DTW, per-column CCC and TLCC loops, a pool of `--processes` workers, as the organisers run it),
then the whole `facereact evaluate --inputs FILE` process (start-up, loading, checks, every
figure). It checks that every figure agrees and prints each metric's seconds and the ratios.
Needs tslearn (benchmark-only: `pip install tslearn`). Input kinds:
- independent: predictions drawn independently of every real reaction (metrics_speed.py's input);
- ar1: AR(1) smooth affect and expression logits with sparse on/off AU runs, the same for the
  predictions (what a generator that learnt the marginals but not the speaker gives);
- near: each prediction is a real appropriate reaction, shifted by a few frames, with noise on the
  continuous columns and a few AU flips (what a trained generator gives: one neighbour is close).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import react2024_reference as reference
from metrics_speed import emotion_like, neighbour_matrix
from facereact.layout import AFFECT, AU, EMOTION_DIM, EXPRESSION

# Relative tolerance per figure: the DTW is bit-for-bit the reference's; the reference takes means and
# variances of float32 arrays in float32 (facereact in float64), as the golden tests allow; FRSyn is an integer mean.
TOLERANCE = {"FRCorr": 1e-6, "FRDist": 1e-12, "FRDiv": 1e-6, "FRVar": 1e-6, "FRDvs": 1e-6, "FRSyn": 0.0}


def ar1_like(rng: np.random.Generator, shape: tuple[int, ...], t: int, rho: float = 0.97) -> np.ndarray:
    """Emotion-like sequences: sparse binary AU runs, AR(1) affect and expression logits."""
    out = np.zeros(shape + (t, EMOTION_DIM), np.float32)
    n_au = AU.stop - AU.start
    flips = rng.random(shape + (t, n_au)) < rng.uniform(0.002, 0.02, shape + (1, n_au))
    out[..., AU] = (np.cumsum(flips, axis=-2) + (rng.random(shape + (1, n_au)) < 0.2)) % 2

    def ar1(k: int) -> np.ndarray:
        noise = rng.normal(0, np.sqrt(1 - rho ** 2), shape + (t, k))
        x = np.empty_like(noise)
        x[..., 0, :] = rng.normal(0, 1, shape + (k,))
        for i in range(1, t):
            x[..., i, :] = rho * x[..., i - 1, :] + noise[..., i, :]
        return x

    out[..., AFFECT] = np.tanh(0.5 * ar1(AFFECT.stop - AFFECT.start))
    logits = ar1(EXPRESSION.stop - EXPRESSION.start)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    out[..., EXPRESSION] = e / e.sum(-1, keepdims=True)
    return out


def near_like(rng: np.random.Generator, gt: np.ndarray, neighbour: np.ndarray, k: int) -> np.ndarray:
    """Each prediction: one appropriate real reaction, shifted up to 10 frames, noised, some AUs flipped."""
    n, t, _ = gt.shape
    pred = np.empty((n, k, t, EMOTION_DIM), np.float32)
    for row in range(n):
        choices = np.flatnonzero(neighbour[row])
        for s in range(k):
            source = gt[rng.choice(choices)]
            x = np.roll(source, int(rng.integers(-10, 11)), axis=0).copy()
            x[:, AFFECT] = np.clip(x[:, AFFECT] + rng.normal(0, 0.05, (t, AFFECT.stop - AFFECT.start)), -1, 1)
            logits = np.log(x[:, EXPRESSION] + 1e-3) + rng.normal(0, 0.2, (t, EXPRESSION.stop - EXPRESSION.start))
            e = np.exp(logits - logits.max(-1, keepdims=True))
            x[:, EXPRESSION] = e / e.sum(-1, keepdims=True)
            x[:, AU] = np.where(rng.random((t, AU.stop - AU.start)) < 0.02, 1 - x[:, AU], x[:, AU])
            pred[row, s] = x
    return pred


def build(kind: str, n: int, k: int, t: int, per_row: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    neighbour = neighbour_matrix(rng, n, per_row)
    if kind == "independent":
        return {"pred": emotion_like(rng, (n, k), t), "listener_gt": emotion_like(rng, (n,), t),
                "speaker_gt": emotion_like(rng, (n,), t), "neighbour": neighbour}
    gt, speaker = ar1_like(rng, (n,), t), ar1_like(rng, (n,), t)
    pred = ar1_like(rng, (n, k), t) if kind == "ar1" else near_like(rng, gt, neighbour, k)
    return {"pred": pred, "listener_gt": gt, "speaker_gt": speaker, "neighbour": neighbour}


def run_reference(data: dict[str, np.ndarray], processes: int) -> tuple[dict, dict]:
    pred, gt, speaker, nb = data["pred"], data["listener_gt"], data["speaker_gt"], data["neighbour"]
    jobs = {"FRCorr": lambda: reference.frcorr(pred, gt, nb, processes),
            "FRDist": lambda: reference.frdist(pred, gt, nb, processes),
            "FRSyn": lambda: reference.frsyn(pred, speaker, processes),
            "FRDiv": lambda: reference.frdiv(pred), "FRVar": lambda: reference.frvar(pred),
            "FRDvs": lambda: reference.frdvs(pred)}
    values, seconds = {}, {}
    for name, job in jobs.items():
        t0 = time.perf_counter()
        values[name] = job()
        seconds[name] = time.perf_counter() - t0
    return values, seconds


def run_facereact(path: Path) -> tuple[dict, float]:
    out = path.with_suffix(".json")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "facereact.cli", "evaluate", "--inputs", str(path), "--quiet",
                    "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text()), time.perf_counter() - t0


def compare(ref: dict, ours: dict) -> list[str]:
    """Figures that disagree beyond their tolerance."""
    bad = []
    for name, rtol in TOLERANCE.items():
        a, b = ref[name], ours[name]
        if abs(a - b) > rtol * abs(a):
            bad.append(f"{name}: reference {a!r}, facereact {b!r}")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", nargs="+", default=["independent", "ar1", "near"],
                    choices=("independent", "ar1", "near"))
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--t", type=int, default=750)
    ap.add_argument("--neighbours", type=float, default=11.2, help="appropriate reactions per row, on average")
    ap.add_argument("--processes", type=int, default=2, help="the reference's worker pool")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warm.npz"  # compile (or load cached) kernels outside the timed runs
        np.savez(warm, **build("independent", 4, 2, 60, 2, 1))
        run_facereact(warm)
        for kind in args.kinds:
            data = build(kind, args.n, args.k, args.t, args.neighbours, args.seed)
            path = Path(tmp) / f"{kind}.npz"
            np.savez_compressed(path, **data)
            ref_values, ref_seconds = run_reference(data, args.processes)
            ours, ours_wall = run_facereact(path)
            rest = ours_wall - sum(ours["seconds"][m] for m in ("FRCorr", "FRDist", "FRSyn"))
            ref_rest = sum(ref_seconds[m] for m in ("FRDiv", "FRVar", "FRDvs"))
            work = ours["work"]
            print(f"\n{kind}: N={args.n} K={args.k} T={args.t}, {data['neighbour'].sum(1).mean():.2f} "
                  f"neighbours per row; reference pool of {args.processes}")
            print("| | FRCorr | FRDist | FRSyn | rest | whole |\n|---|---:|---:|---:|---:|---:|")
            ref_whole = sum(ref_seconds.values())
            print(f"| reference | {ref_seconds['FRCorr']:.2f} s | {ref_seconds['FRDist']:.2f} s | "
                  f"{ref_seconds['FRSyn']:.2f} s | {ref_rest:.2f} s | {ref_whole:.2f} s |")
            print(f"| facereact evaluate (whole process) | {ours['seconds']['FRCorr']:.2f} s | "
                  f"{ours['seconds']['FRDist']:.2f} s | {ours['seconds']['FRSyn']:.2f} s | {rest:.2f} s | "
                  f"{ours_wall:.2f} s |")
            ratio = {m: ref_seconds[m] / max(ours["seconds"][m], 1e-9) for m in ("FRCorr", "FRDist", "FRSyn")}
            print(f"| ratio | {ratio['FRCorr']:.0f}x | {ratio['FRDist']:.1f}x | {ratio['FRSyn']:.0f}x | | "
                  f"**{ref_whole / ours_wall:.1f}x** |")
            computed = work["dtw_cells_computed"]
            print(f"DTW cells {work['dtw_cells'] / 1e9:.2f} G, computed after pruning {computed / 1e9:.2f} G "
                  f"({computed / work['dtw_cells']:.1%}); kernel {computed / ours['seconds']['FRDist'] / 1e9:.2f} G "
                  f"computed cells/s")
            bad = compare(ref_values, ours)
            print("values agree: " + ("yes, every figure" if not bad else "NO: " + "; ".join(bad)))
            failures += bad
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
