"""`make demo`: the main job on a synthetic corpus. It grows with the project.

synthesize -> check -> train the FSQ tokenizer -> evaluate the rule-based baselines on val ->
results table (Markdown, CSV, JSON) and plots.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from facereact.baselines.rule_based import RULE_BASED, TrainStats, rule_based
from facereact.data.check import check_corpus
from facereact.data.eval_set import load_eval_set
from facereact.layout import CLIP_FRAMES
from facereact.metrics import evaluate_both
from facereact.plots import plot_reconstruction, plot_token_usage, plot_training_curve
from facereact.report import write_results
from facereact.synth.writer import SynthConfig, synthesize_corpus
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig
from facereact.tokenizer.training import load_person_clips, train_tokenizer
from facereact.train.trainer import TrainConfig

SAMPLES = 10


def run_demo(out: str | Path, sessions: int = 12, seed: int = 0, tokenizer_epochs: int = 60) -> Path:
    out = Path(out)
    corpus = out / "corpus"
    t0 = time.perf_counter()
    if not (corpus / "train.csv").is_file():
        print(f"[demo] synthesizing {sessions} sessions into {corpus}")
        synthesize_corpus(corpus, SynthConfig(sessions=sessions, seed=seed))
    report = check_corpus(corpus)
    print(report.text())
    if not report.ok:
        raise SystemExit(1)

    tok_dir = out / "tokenizer"
    if (tok_dir / "model.safetensors").is_file():
        print(f"[demo] reusing the tokenizer in {tok_dir}")
        tokenizer = FaceTokenizer.load(tok_dir)
    else:
        print(f"[demo] training the FSQ tokenizer ({tokenizer_epochs} epochs)")
        tokenizer = train_tokenizer(corpus, tok_dir, TokenizerConfig(),
                                    TrainConfig(epochs=tokenizer_epochs, batch_size=32, lr=2e-3, warmup_steps=50,
                                                seed=seed))
    _tokenizer_plots(tokenizer, corpus, tok_dir, out)

    print("[demo] evaluating the rule-based baselines on val")
    frames = min(CLIP_FRAMES, SynthConfig().frames)
    val = load_eval_set(corpus, "val", frames)
    stats = TrainStats.from_eval_set(load_eval_set(corpus, "train", frames, with_neighbours=False))
    results = {}
    for name in RULE_BASED:
        pred = rule_based(name, val, stats, k=SAMPLES, seed=seed)
        figures = evaluate_both(pred.emotion, val.listener_emotion, val.speaker_emotion, val.neighbour)
        results[name] = {k: v for k, v in figures.items() if k.startswith("FR")}
    table = write_results(out, results)
    print(table)
    print(f"[demo] done in {time.perf_counter() - t0:.0f} s; results in {out.resolve()} "
          f"(results.md/.csv/.json, tokenizer_*.png)")
    return out


@torch.no_grad()
def _tokenizer_plots(tokenizer: FaceTokenizer, corpus: Path, tok_dir: Path, out: Path) -> None:
    val = load_person_clips(corpus, "val")
    face = torch.from_numpy(val[0][0])[None]
    tokens = tokenizer.encode(face)
    plot_reconstruction(val[0][0], tokenizer.decode(tokens)[0][0].numpy(),
                        tokenizer.decode(tokens, block=32)[0][0].numpy(), out / "tokenizer_reconstruction.png")
    all_tokens = np.concatenate([tokenizer.encode(torch.from_numpy(f)[None])[0].numpy() for f, _ in val])
    plot_token_usage(all_tokens, tokenizer.vocab_size, out / "tokenizer_usage.png")
    plot_training_curve(tok_dir / "joint" / "train_log.csv", out / "tokenizer_training.png", ("loss", "face_l1"))
