"""`facereact benchmark`: every system on one split, evaluated the same way, in one table.

Rule-based baselines always take part; each trained model folder given (a generator, Trans-VAE or
BeLFusion) adds a row; its predictions are cached next to the table, keyed by the folder's name,
and reused.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from facereact.baselines.clips import predict_split
from facereact.baselines.rule_based import RULE_BASED, TrainStats, rule_based
from facereact.baselines.training import baseline_name, load_baseline
from facereact.data.eval_set import load_eval_set
from facereact.generator.generate import generate_split
from facereact.generator.model import ReactionGenerator
from facereact.generator.sampling import RECOMMENDED, Sampling
from facereact.generator.training import load_generator
from facereact.io import save_npz_atomic
from facereact.layout import CLIP_FRAMES
from facereact.metrics import evaluate_both
from facereact.report import write_results
from facereact.tokenizer.model import FaceTokenizer
from facereact.train.checkpoint import model_kind


def system_name(generator: ReactionGenerator, tokenizer: FaceTokenizer, model_dir: Path) -> str:
    setting = "offline" if generator.config.offline else "online"
    return f"Ours ({tokenizer.config.quantizer.upper()}, {setting}, {model_dir.name})"


def benchmark(root: str | Path, out: str | Path, model_dirs: list[str | Path] = (), split: str = "val",
              samples: int = 10, seed: int = 0, progress: bool = True,
              sampling: Sampling = RECOMMENDED) -> tuple[dict[str, dict], str]:
    """Evaluate the rule-based baselines and each generator on `split`; write out/results.{md,csv,json}.
    Predictions are cached in `out` per model folder (and per sampling, when not the recommended)."""
    out = Path(out)
    predictions: dict[str, np.ndarray] = {}
    for folder in map(Path, model_dirs):
        cached = out / f"pred_{split}_{folder.name}.npz"
        if model_kind(folder) == "generator":
            generator, tokenizer = load_generator(folder)
            name = system_name(generator, tokenizer, folder)
            if sampling != RECOMMENDED:
                tag = f"t{sampling.temperature:g}_k{sampling.top_k}_p{sampling.top_p}_g{sampling.guidance:g}"
                cached, name = out / f"pred_{split}_{folder.name}_{tag}.npz", f"{name} {tag}"
            if not cached.is_file():
                save_npz_atomic(cached, generate_split(generator, tokenizer, root, split, samples, sampling, seed,
                                                       progress=progress))
        else:
            model = load_baseline(folder)
            name = baseline_name(model, folder)
            if not cached.is_file():
                save_npz_atomic(cached, predict_split(model, root, split, samples, seed, progress))
        with np.load(cached) as arrays:
            predictions[name] = arrays["pred"]
    frames = min([CLIP_FRAMES] + [p.shape[2] for p in predictions.values()])
    data = load_eval_set(root, split, frames)
    stats = TrainStats.from_eval_set(load_eval_set(root, "train", frames, with_neighbours=False))
    systems = {name: rule_based(name, data, stats, k=samples, seed=seed).emotion for name in RULE_BASED}
    systems.update({name: pred[:, :, :frames] for name, pred in predictions.items()})
    results = {}
    for name, emotion in systems.items():
        figures = evaluate_both(emotion, data.listener_emotion, data.speaker_emotion, data.neighbour,
                                progress=progress)
        results[name] = {k: v for k, v in figures.items() if k.startswith("FR")}
    return results, write_results(out, results)
