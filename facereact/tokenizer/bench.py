"""`facereact bench tokenizers`: FSQ, VQ and LFQ at a matched vocabulary (about 1000), one table."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from facereact.io import write_text_atomic
from facereact.layout import FACE_GROUPS
from facereact.tokenizer.model import TokenizerConfig
from facereact.tokenizer.training import SCHEDULE, TokenizerLoss, train_tokenizer
from facereact.train.schedules import TrainConfig

RIVALS = {"fsq": {"levels": (8, 5, 5, 5)}, "vq": {"codebook_size": 1000}, "lfq": {"codebook_size": 1024}}


def bench_tokenizers(data: str | Path, out: str | Path, base: TokenizerConfig = TokenizerConfig(),
                     train: TrainConfig = SCHEDULE, loss: TokenizerLoss = TokenizerLoss(), progress: bool = True) -> str:
    """Train each quantizer under out/<name>, write tokenizers.{md,json} and return the Markdown."""
    out = Path(out)
    results = {}
    for name, overrides in RIVALS.items():
        config = replace(base, quantizer=name, **overrides)
        tokenizer = train_tokenizer(data, out / name, config, train, loss, progress=progress)
        results[name] = json.loads((out / name / "val_metrics.json").read_text()) | {"vocab": tokenizer.vocab_size}
    write_text_atomic(out / "tokenizers.json", json.dumps(results, indent=2) + "\n")
    table = format_table(results)
    write_text_atomic(out / "tokenizers.md", table)
    return table


def format_table(results: dict[str, dict]) -> str:
    head = ["quantizer", "vocab", "3DMM L1", "vs mean face", "emotion L1", "usage", "perplexity", "train s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in results.items():
        lines.append(f"| {name.upper()} | {r['vocab']} | {r['face_l1']:.4f} | {r['face_l1'] / r['mean_face_l1']:.3f} | "
                     f"{r['emotion_l1']:.4f} | {r['usage']:.1%} | {r['perplexity']:.1f} | {r['train_seconds']:.0f} |")
    groups = list(FACE_GROUPS)
    lines += ["", "3DMM L1 per face region:", "", "| quantizer | " + " | ".join(groups) + " |",
              "|" + "---|" * (len(groups) + 1)]
    for name, r in results.items():
        lines.append(f"| {name.upper()} | " + " | ".join(f"{r['l1_' + g]:.4f}" for g in groups) + " |")
    return "\n".join(lines) + "\n"
