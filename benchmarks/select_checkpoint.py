"""Pick a generator's checkpoint by what it generates, not by its cross-entropy.

    python benchmarks/select_checkpoint.py --model G --data results/demo/corpus \
        [--every 2 --seed 100 --split val --samples 10 --min-div 0.08 --out results/select]

G is a trained generator folder whose training kept its checkpoints (`facereact train generator
... --keep-checkpoints 40`; one is written every epoch). Every `every`-th epoch's checkpoint is
made a model folder (G's config and tokenizer, the checkpoint's weights), generates the split with
its recommended sampling under `seed`, and is scored; the table lists each, and the chosen one is
the highest FRCorr among those with FRDiv >= min-div (the diversity floor of issue 19). Choose with
a seed you will not report: the figures that choose are optimistic for the one chosen.
"""
from __future__ import annotations

import argparse
import csv
import shutil
from pathlib import Path

from facereact.benchmark import benchmark
from facereact.generator.model import ReactionGenerator


def candidates(model: Path, every: int, out: Path) -> list[tuple[int, Path]]:
    """(epoch, model folder) for every `every`-th epoch's checkpoint of `model`."""
    states = sorted((model / "checkpoints").glob("step-*"))
    if not states:
        raise SystemExit(f"{model}/checkpoints holds no checkpoints: train with --keep-checkpoints")
    steps = [int(s.name.split("-")[1]) for s in states]
    # a finished run's last checkpoint ends its last epoch; a step floor (TrainConfig.min_steps) may have
    # run more epochs than the config's, so they are counted in its log
    with open(model / "train_log.csv", newline="") as f:
        epochs = 1 + max(int(row["epoch"]) for row in csv.DictReader(f))
    per_epoch = max(steps) // epochs
    folders = []
    for state, step in zip(states, steps):
        epoch, rest = divmod(step, per_epoch)
        if rest or epoch % every:
            continue
        folder = out / f"epoch{epoch:02d}"
        if not (folder / "model.safetensors").is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(model / "config.json", folder / "config.json")
            shutil.copytree(model / "tokenizer", folder / "tokenizer", dirs_exist_ok=True)
            shutil.copy(state / "model.safetensors", folder / "model.safetensors")
            ReactionGenerator.load(folder)  # the checkpoint is this model's: a clear error if not
        folders.append((epoch, folder))
    return folders


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--every", type=int, default=2, help="score every N-th epoch's checkpoint")
    ap.add_argument("--seed", type=int, default=100, help="a sampling seed kept out of the reported ones")
    ap.add_argument("--split", default="val")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--min-div", type=float, default=0.08)
    ap.add_argument("--out", default="results/select")
    args = ap.parse_args()
    out = Path(args.out)
    rows = []
    for epoch, folder in candidates(Path(args.model), args.every, out):
        figures, _ = benchmark(args.data, folder, [folder], args.split, args.samples, args.seed, progress=False)
        mine = next(v for k, v in figures.items() if k.startswith("Ours"))
        rows.append((epoch, folder, mine))
        print(f"epoch {epoch:2d}: FRCorr {mine['FRCorr']:.4f}  FRDist {mine['FRDist']:.2f}  FRDiv {mine['FRDiv']:.4f}",
              flush=True)
    allowed = [r for r in rows if r[2]["FRDiv"] >= args.min_div]
    if not allowed:
        print(f"no checkpoint keeps FRDiv >= {args.min_div}")
        return
    epoch, folder, mine = max(allowed, key=lambda r: r[2]["FRCorr"])
    print(f"chosen: epoch {epoch} ({folder}): FRCorr {mine['FRCorr']:.4f}, FRDist {mine['FRDist']:.2f}, "
          f"FRDiv {mine['FRDiv']:.4f}")


if __name__ == "__main__":
    main()
