"""`facereact benchmark --protocol react2025`: the one-table comparison on a MARS corpus.

For now the challenge's rule-based baselines (generators do not yet train on MARS: its 30 fps and
wav2vec2 features are the next step), scored by metrics/react2025.py with one target draw for all.
"""
from __future__ import annotations

import json
from pathlib import Path

from tqdm import tqdm

from facereact.baselines.mars_rule_based import mars_rule_based, per_frame_means
from facereact.baselines.rule_based import RULE_BASED
from facereact.data.mars import MarsCorpus
from facereact.io import write_text_atomic
from facereact.metrics.react2025 import FIGURES, SEED, evaluate_react2025, scored_inputs
from facereact.report import COLUMNS_2025, write_results


def benchmark_react2025(root: str | Path, out: str | Path, split: str = "val", directions: str = "both",
                        samples: int = 10, seed: int = 0, draw_seed: int = SEED,
                        progress: bool = True) -> tuple[dict, str]:
    """Every rule-based baseline's figures; `seed` drives Random, `draw_seed` the target draw."""
    corpus, train = MarsCorpus(root, split), MarsCorpus(root, "train")
    inputs = scored_inputs(corpus, directions)
    means = per_frame_means(train)
    results, draws = {}, None
    for name in tqdm(RULE_BASED, desc="react2025 baselines", disable=not progress):
        predictions = mars_rule_based(name, corpus, inputs, means, samples, seed)
        scored = evaluate_react2025(predictions, corpus, directions, draw_seed)
        results[name] = {f: scored[f] for f in FIGURES}
        draws = scored["targets"]
    table = write_results(out, results, columns=COLUMNS_2025)
    write_text_atomic(Path(out) / "targets.json", json.dumps(draws, indent=2) + "\n")
    note = (f"\n{split}, {len(inputs)} inputs ({directions}), K = {samples}, target draw seed {draw_seed} "
            f"(targets.json); {draws['resampled']} targets of another length: {draws['alignment']}.\n")
    write_text_atomic(Path(out) / "results.md", table + note)
    return results, table + note
