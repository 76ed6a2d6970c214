"""`facereact benchmark`: every system on one split, evaluated the same way, in one table.

Rule-based baselines always take part; each trained model folder given (a generator, Trans-VAE or
BeLFusion) adds a row. Its predictions are cached next to the table and reused only while they are
what a fresh run would give: each cache file records a key made of the model folder's content, the
corpus split, K, the seed and the sampling settings, and any other key regenerates it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from facereact.baselines.clips import predict_split
from facereact.baselines.rule_based import RULE_BASED, TrainStats, rule_based
from facereact.baselines.training import baseline_name, load_baseline
from facereact.data.eval_set import load_eval_set
from facereact.data.paths import split_fingerprint
from facereact.generator.generate import generate_split
from facereact.generator.model import ReactionGenerator
from facereact.generator.sampling import RECOMMENDED, Sampling
from facereact.generator.training import load_generator
from facereact.io import save_npz_atomic
from facereact.layout import CLIP_FRAMES
from facereact.metrics import evaluate_both
from facereact.report import write_results
from facereact.tokenizer.model import FaceTokenizer
from facereact.train.checkpoint import folder_fingerprint, model_kind


def system_name(generator: ReactionGenerator, tokenizer: FaceTokenizer, model_dir: Path) -> str:
    setting = "offline" if generator.config.offline else "online"
    return f"Ours ({tokenizer.config.quantizer.upper()}, {setting}, {model_dir.name})"


def prediction_key(folder: Path, root: str | Path, split: str, samples: int, seed: int,
                   sampling: Sampling | None) -> str:
    """What the predictions of `folder` on `split` depend on, as a hex digest: the model folder's
    content (the generator's tokenizer included), the split (its rows, neighbours and where the
    corpus is), K, the seed, and the sampling settings (None for baselines, which have none)."""
    settings = {"model": folder_fingerprint(folder), "split": split_fingerprint(root, split),
                "corpus": str(Path(root).resolve()), "samples": samples, "seed": seed,
                "sampling": None if sampling is None else asdict(sampling)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _cached(path: Path, key: str) -> np.ndarray | None:
    """The cached predictions at `path` if they were made under `key`."""
    if not path.is_file():
        return None
    with np.load(path) as arrays:
        if "cache_key" not in arrays.files or str(arrays["cache_key"]) != key:
            return None
        return arrays["pred"]


def benchmark(root: str | Path, out: str | Path, model_dirs: list[str | Path] = (), split: str = "val",
              samples: int = 10, seed: int = 0, progress: bool = True,
              sampling: Sampling = RECOMMENDED) -> tuple[dict[str, dict], str]:
    """Evaluate the rule-based baselines and each generator on `split`; write out/results.{md,csv,json}.
    Predictions are cached in `out` per model folder (and per sampling, when not the recommended)."""
    out = Path(out)
    predictions: dict[str, np.ndarray] = {}
    for folder in map(Path, model_dirs):
        path = out / f"pred_{split}_{folder.name}.npz"
        if model_kind(folder) == "generator":
            generator, tokenizer = load_generator(folder)
            name = system_name(generator, tokenizer, folder)
            if sampling != RECOMMENDED:
                tag = f"t{sampling.temperature:g}_k{sampling.top_k}_p{sampling.top_p}_g{sampling.guidance:g}"
                path, name = out / f"pred_{split}_{folder.name}_{tag}.npz", f"{name} {tag}"
            key = prediction_key(folder, root, split, samples, seed, sampling)
            make = lambda: generate_split(generator, tokenizer, root, split, samples, sampling, seed,  # noqa: E731
                                          progress=progress)
        else:
            model = load_baseline(folder)
            name = baseline_name(model, folder)
            key = prediction_key(folder, root, split, samples, seed, None)
            make = lambda: predict_split(model, root, split, samples, seed, progress)  # noqa: E731
        pred = _cached(path, key)
        if pred is None:
            arrays = make()
            save_npz_atomic(path, {**arrays, "cache_key": np.array(key)})
            pred = arrays["pred"]
        predictions[name] = pred
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
