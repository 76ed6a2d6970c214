"""`facereact benchmark`: every system on one split, evaluated the same way, in one table.

Rule-based baselines always take part; each trained model folder given (a generator, Trans-VAE or
BeLFusion) adds a row. Its predictions are cached next to the table and reused only while they are
what a fresh run would give: each cache file records a key made of the model folder's content, the
corpus split, K, the seed and the sampling settings, and any other key regenerates it.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from facereact.baselines.clips import predict_split
from facereact.baselines.files import baseline_name, load_baseline
from facereact.baselines.rule_based import RULE_BASED, Predictions, TrainStats, rule_based
from facereact.data.eval_set import load_eval_set
from facereact.data.paths import split_fingerprint
from facereact.generator.data import split_personalities
from facereact.generator.generate import generate_split
from facereact.generator.inputs import uses
from facereact.generator.model import ReactionGenerator, load_generator
from facereact.generator.sampling import Sampling, own_sampling
from facereact.io import save_npz_atomic, write_text_atomic
from facereact.layout import CLIP_FRAMES
from facereact.metrics import evaluate_both
from facereact.metrics.behaviour import BEHAVIOUR_COLUMNS, BEHAVIOUR_NOTE
from facereact.metrics.behaviour_inputs import BehaviourTruth, load_behaviour_truth
from facereact.metrics.persona import PERSONA_COLUMNS, PERSONA_NOTE, PersonaTruth, persona_row
from facereact.model_files import folder_fingerprint, model_kind
from facereact.report import write_results
from facereact.tokenizer.model import FaceTokenizer


def system_name(generator: ReactionGenerator, tokenizer: FaceTokenizer, model_dir: Path, inputs: str = "full") -> str:
    setting = "offline" if generator.config.offline else "online"
    heard = "" if inputs == "full" else f", hears {inputs}"
    return f"Ours ({tokenizer.config.quantizer.upper()}, {setting}, {model_dir.name}{heard})"


def prediction_key(folder: Path, root: str | Path, split: str, samples: int, seed: int,
                   sampling: Sampling | None, inputs: str = "full") -> str:
    """What the predictions of `folder` on `split` depend on, as a hex digest: the model folder's
    content (the generator's tokenizer included), the split (its rows, neighbours and where the
    corpus is), K, the seed, the sampling settings (None for baselines, which have none) and the
    speaker inputs heard (generator/inputs.py)."""
    settings = {"model": folder_fingerprint(folder), "split": split_fingerprint(root, split),
                "corpus": str(Path(root).resolve()), "samples": samples, "seed": seed,
                "sampling": None if sampling is None else asdict(sampling), "inputs": inputs}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _cached(path: Path, key: str) -> Predictions | None:
    """The cached predictions at `path` if they were made under `key`."""
    if not path.is_file():
        return None
    with np.load(path) as arrays:
        if "cache_key" not in arrays.files or str(arrays["cache_key"]) != key:
            return None
        return Predictions(arrays["pred"], arrays["pred_face"] if "pred_face" in arrays.files else None)


def _predict(path: Path, key: str, make: Callable[[], dict[str, np.ndarray]]) -> Predictions:
    """The predictions (emotion and face) cached at `path` under `key`, else made and cached."""
    cached = _cached(path, key)
    if cached is None:
        arrays = make()
        save_npz_atomic(path, {**arrays, "cache_key": np.array(key)})
        cached = Predictions(arrays["pred"], arrays.get("pred_face"))
    return cached


def benchmark(root: str | Path, out: str | Path, model_dirs: list[str | Path] = (), split: str = "val",
              samples: int = 10, seed: int = 0, progress: bool = True,
              sampling: Sampling | Mapping[str, float] | None = None,
              inputs: Mapping[str | Path, Sequence[str]] | Sequence[str] = ("full",),
              with_behaviour: bool = True) -> tuple[dict[str, dict], str]:
    """Evaluate the rule-based baselines and each model on `split`; write out/results.{md,csv,json}
    and, with_behaviour, the behaviour table of every system with faces (out/behaviour.{md,csv,json},
    the curves in out/behaviour_curves.json; metrics/behaviour.py). Returns the REACT figures and
    the Markdown of both tables.
    sampling: one Sampling for every generator, or the settings to change (e.g. {"guidance": 3})
    from each generator's own (the one chosen on its validation split, else its setting's
    recommendation: sampling.own_sampling), or None.
    inputs: the input sets each generator is scored with, one row each (generator/inputs.py): one
    list for every generator, or a list per generator folder as given (others: full inputs).
    Predictions are cached in `out` per model folder and input set (and per sampling, when not the
    generator's own)."""
    out = Path(out)
    predictions: dict[str, Predictions] = {}
    for folder in map(Path, model_dirs):
        if model_kind(folder) != "generator":
            model = load_baseline(folder)
            for personal in personal_rows(model.personal, root, split, folder):
                make = lambda: predict_split(model, root, split, samples, seed, progress, personal)  # noqa: E731
                tail = "_personal" if personal else ""
                predictions[baseline_name(model, folder) + (", personal" if personal else "")] = _predict(
                    out / f"pred_{split}_{folder.name}{tail}.npz",
                    prediction_key(folder, root, split, samples, seed, None, "personal" if personal else "full"), make)
            continue
        generator, tokenizer = load_generator(folder)
        heard = inputs.get(str(folder), ("full",)) if isinstance(inputs, Mapping) else inputs
        rows = personal_rows(generator.personal, root, split, folder)
        for input_set, personal in [(i, p) for i in heard for p in rows]:
            uses(input_set)  # an unknown name fails before any work
            name, stem = system_name(generator, tokenizer, folder, input_set), f"pred_{split}_{folder.name}"
            if input_set != "full":
                stem += "_" + input_set.replace("+", "_")
            if personal:
                name, stem = name + ", personal", stem + "_personal"
            how = sampling if isinstance(sampling, Sampling) else own_sampling(generator, sampling)
            if how != own_sampling(generator):
                stem, name = f"{stem}_{how.tag}", f"{name} {how.tag}"
            make = lambda: generate_split(generator, tokenizer, root, split, samples, how, seed,  # noqa: E731
                                          progress=progress, inputs=input_set, personal=personal)
            key = prediction_key(folder, root, split, samples, seed, how, input_set + (" personal" if personal else ""))
            predictions[name] = _predict(out / f"{stem}.npz", key, make)
    frames = min([CLIP_FRAMES] + [p.emotion.shape[2] for p in predictions.values()])
    data = load_eval_set(root, split, frames)
    stats = TrainStats.from_eval_set(load_eval_set(root, "train", frames, with_neighbours=False))
    systems = {name: rule_based(name, data, stats, k=samples, seed=seed) for name in RULE_BASED}
    systems.update(predictions)
    results = {}
    for name, pred in systems.items():
        figures = evaluate_both(pred.emotion[:, :, :frames], data.listener_emotion, data.speaker_emotion,
                                data.neighbour, progress=progress)
        results[name] = {k: v for k, v in figures.items() if k.startswith("FR")}
    table = write_results(out, results)
    if with_behaviour:
        truth = load_behaviour_truth(root, split, frames, data)
        table += "\n" + _behaviour_table(out, truth, systems)
        faced = {name: pred for name, pred in predictions.items() if pred.face is not None}
        if faced and len(truth.listener_face) >= 3:  # a correlation across clips
            personas = PersonaTruth(truth.listener_face, truth.fps)
            rows = {name: persona_row(personas.score(list(pred.face[:, :, :frames]))) for name, pred in faced.items()}
            table += "\n" + write_results(out, rows, stem="persona", columns=PERSONA_COLUMNS, note=PERSONA_NOTE)
    return results, table


def _behaviour_table(out: Path, truth: BehaviourTruth, systems: dict[str, Predictions]) -> str:
    """The behaviour table of every system that has faces (out/behaviour.*; curves in
    out/behaviour_curves.json); the real listeners' row is named as the REACT table's."""
    rows, curves = {}, {}
    for name, pred in systems.items():
        if pred.face is None:
            continue
        curves[name], rows[name] = truth.score(pred.face)
    write_text_atomic(out / "behaviour_curves.json", json.dumps(curves) + "\n")
    return write_results(out, rows, stem="behaviour", columns=BEHAVIOUR_COLUMNS, note=BEHAVIOUR_NOTE)


def personal_rows(personal_model: bool, root: str | Path, split: str, folder: Path) -> tuple[bool, ...]:
    """Whether each of a model's rows is told who listens: a personal model's two (told no one, the
    generic tracks; then each listener's personality), where the split gives any (else its personal
    row would be the generic one again); another model's one."""
    return (False, True) if personal_model and gives_personal_row(root, split, folder) else (False,)


def gives_personal_row(root: str | Path, split: str, folder: Path) -> bool:
    """Whether a personal generator gets its personal row here: only where the split gives some
    listener a personality (said when not)."""
    if split_personalities(root, split):
        return True
    print(f"note: {folder} is personal, but {Path(root) / split} gives no listener a personality: "
          "no personal row (the generic row is what it would be)")
    return False
