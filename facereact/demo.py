"""`make demo`: the main job on a synthetic corpus. It grows with the project."""
from __future__ import annotations

import time
from pathlib import Path

from facereact.data.check import check_corpus
from facereact.synth.writer import SynthConfig, synthesize_corpus


def run_demo(out: str | Path, sessions: int = 12, seed: int = 0) -> Path:
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
    print(f"[demo] done in {time.perf_counter() - t0:.1f} s; results in {out}")
    return out
