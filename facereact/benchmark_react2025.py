"""`facereact benchmark --protocol react2025`: the one-table comparison on a MARS corpus.

The challenge's rule-based baselines and any generators, Trans-VAE and BeLFusion models trained on
the corpus, scored by metrics/react2025.py with one target draw for all.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from tqdm import tqdm

from facereact.baselines.clips import predict_mars
from facereact.baselines.files import baseline_name, load_baseline
from facereact.baselines.mars_rule_based import MARS_RULE_BASED, mars_rule_based, per_frame_means
from facereact.benchmark import personal_rows, system_name
from facereact.data.mars import MarsCorpus
from facereact.generator.generate import generate_mars
from facereact.generator.model import load_generator
from facereact.generator.sampling import own_sampling
from facereact.io import write_text_atomic
from facereact.layout import MARS_FPS
from facereact.metrics.behaviour import BEHAVIOUR_COLUMNS, BEHAVIOUR_NOTE, behaviour_row
from facereact.metrics.behaviour_inputs import mars_behaviour_truth
from facereact.metrics.persona import PERSONA_COLUMNS, PERSONA_NOTE, PersonaTruth, persona_row
from facereact.metrics.react2025 import FIGURES, SEED, evaluate_react2025
from facereact.model_files import model_kind
from facereact.report import COLUMNS_2025, write_results


def benchmark_react2025(root: str | Path, out: str | Path, split: str = "val", directions: str = "both",
                        samples: int = 10, seed: int = 0, draw_seed: int = SEED, model_dirs: Sequence[str | Path] = (),
                        progress: bool = True, sampling: Mapping[str, float] | None = None,
                        with_behaviour: bool = True) -> tuple[dict, str]:
    """Every rule-based baseline's and each model folder's figures (generators, Trans-VAE, BeLFusion;
    a personal one also told who listens); `seed` drives Random and the models' sampling,
    `draw_seed` the target draw; sampling: the settings to change from each generator's own (e.g.
    {"guidance": 3}), which then names its rows. with_behaviour: the behaviour table too (ours: the
    real partners, Mime and each model; out/behaviour.*)."""
    corpus, train = MarsCorpus(root, split), MarsCorpus(root, "train")
    inputs = corpus.inputs(directions)
    means = per_frame_means(train)
    results, draws = {}, None
    for name in tqdm(MARS_RULE_BASED, desc="react2025 baselines", disable=not progress):
        predictions = mars_rule_based(name, corpus, inputs, means, samples, seed)
        scored = evaluate_react2025(predictions, corpus, directions, draw_seed)
        results[name] = {f: scored[f] for f in FIGURES}
        draws = scored["targets"]
    behaviour_truth = mars_behaviour_truth(corpus, inputs) if with_behaviour else None
    curves, behaviours = {}, {}  # the behaviour table's rows: every system with faces
    if behaviour_truth is not None:
        curves["GroundTruth"] = behaviour_truth.figures
        behaviours["GroundTruth"] = behaviour_row(behaviour_truth.figures, behaviour_truth.figures)
        curves["Mime"], behaviours["Mime"] = behaviour_truth.score_clips([corpus.coefficients(c)[None] for c in inputs])
    personas = {}  # the persona table's rows, against the real listeners' styles measured once
    truth = PersonaTruth([corpus.coefficients(c.partner) for c in inputs], MARS_FPS) \
        if model_dirs and len(inputs) >= 3 else None

    def score(name: str, predictions: dict, faces: dict) -> None:
        scored = evaluate_react2025({c.name: predictions[c.name] for c in inputs}, corpus, directions, draw_seed)
        results[name] = {f: scored[f] for f in FIGURES}
        if truth is not None:
            personas[name] = persona_row(truth.score([faces[c.name] for c in inputs]))
        if behaviour_truth is not None:
            curves[name], behaviours[name] = behaviour_truth.score_clips([faces[c.name] for c in inputs])

    for folder in map(Path, model_dirs):
        if model_kind(folder) != "generator":  # a trained baseline (Trans-VAE, BeLFusion) trained on MARS
            model = load_baseline(folder)
            for personal in personal_rows(model.personal, root, split, folder):
                faces: dict = {}
                predictions = predict_mars(model, root, split, samples, seed, progress, faces, personal)
                score(baseline_name(model, folder) + (", personal" if personal else ""), predictions, faces)
            continue
        generator, tokenizer = load_generator(folder)
        how = own_sampling(generator, sampling)
        tag = "" if how == own_sampling(generator) else f" {how.tag}"
        for personal in personal_rows(generator.personal, root, split, folder):
            faces: dict = {}
            predictions = generate_mars(generator, tokenizer, root, split, samples, how, seed, progress,
                                        personal=personal, faces=faces)
            score(system_name(generator, tokenizer, folder) + tag + (", personal" if personal else ""), predictions,
                  faces)
    table = write_results(out, results, columns=COLUMNS_2025)
    write_text_atomic(Path(out) / "targets.json", json.dumps(draws, indent=2) + "\n")
    note = (f"\n{split}, {len(inputs)} inputs ({directions}), K = {samples}, target draw seed {draw_seed} "
            f"(targets.json); {draws['resampled']} targets of another length: {draws['alignment']}.\n")
    if behaviours:
        write_text_atomic(Path(out) / "behaviour_curves.json", json.dumps(curves) + "\n")
        note += "\n" + write_results(out, behaviours, stem="behaviour", columns=BEHAVIOUR_COLUMNS, note=BEHAVIOUR_NOTE)
    if personas:
        note += "\n" + write_results(out, personas, stem="persona", columns=PERSONA_COLUMNS, note=PERSONA_NOTE)
    write_text_atomic(Path(out) / "results.md", table + note)
    return results, table + note
