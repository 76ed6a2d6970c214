"""`facereact demo --layout mars`: the REACT 2025/2026 pipeline on a synthetic MARS corpus.

synthesize (or reuse OUT/corpus, a MARS corpus) -> check -> train the FSQ tokenizer at 30 fps ->
train the online generator on the wav2vec2 features -> it chooses its sampling on val -> train the
online Trans-VAE and BeLFusion baselines on the same features -> K = 10 reactions for every
validation clip of any length -> the react2025 table (FRC, FRD, S-MSE, FRVar, TLCC, MAE) beside the
rule-based baselines, scored as the organisers score it (metrics/react2025.py) -> plots and an
index page. Each stage reuses what an earlier run left in the folder.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from facereact.benchmark_react2025 import benchmark_react2025
from facereact.data.check import check_corpus
from facereact.data.mars import is_mars
from facereact.demo import SAMPLES, StageClock, already_trained, train_baselines
from facereact.errors import DataError
from facereact.generator.choose import choose_sampling
from facereact.generator.model import SAMPLING_KEY, GeneratorConfig
from facereact.generator.training import SCHEDULE as GENERATOR_SCHEDULE
from facereact.generator.training import train_generator
from facereact.io import write_text_atomic
from facereact.model_files import read_config
from facereact.plots import plot_behaviour_curves, plot_training_curve
from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars
from facereact.tokenizer.model import TokenizerConfig
from facereact.tokenizer.training import SCHEDULE as TOKENIZER_SCHEDULE
from facereact.tokenizer.training import train_tokenizer
from facereact.viz.page import write_results_page

# 32 prompts of 3 training conversations, what 15 minutes hold (10.6 on 2 cores): on 16 the
# generator trailed the session's copied speaker (Mime) by 0.21 FRC and 21 FRD, on 32 by 0.03 and 5
# (docs/demo.md); on 4 it learns mostly the listener's own motion.
SESSIONS = 32
# The generator's epochs: 30 until its sampling choice (81 s) had to fit in the 15 minutes, 27 until the
# tokenizer's step floor (TrainConfig.min_steps, 1000: +75 s here) had to (docs/demo.md).
GENERATOR_EPOCHS = 18
# The trained baselines' epochs (x 2 each: demo.BASELINES). MARS's clips give fewer training windows than
# REACT 2024's: at the REACT demo's 4, Trans-VAE took 72 steps on 16 sessions and did not learn (FRD 294.9),
# at 16 epochs it scored FRD 92.27 there and 82.15 on 32 sessions (docs/quality.md).
MARS_BASELINE_EPOCHS = 8


def intro(corpus: MarsSynthConfig | None, personal: bool = False) -> str:
    made = (f"A synthetic MARS-layout corpus ({corpus.sessions} sessions, 30 fps, clips of "
            f"{corpus.min_frames}-{corpus.max_frames} frames)" if corpus else "The MARS corpus in corpus/")
    which = ("a personal online generator (conditioned on the listener's Big Five; scored told no one, the generic "
             "tracks, and told each listener's personality, the personal ones)" if personal else "the online generator")
    return (f"{made}: the FSQ tokenizer, {which}, and the online Trans-VAE and BeLFusion baselines trained on "
            "it (wav2vec2 features), 10 reactions per validation clip scored with the REACT 2025/2026 protocol "
            "beside the challenge's rule-based baselines: each input's targets drawn from its own session, clips "
            "of any length (docs/metrics.md).")


def run_mars_demo(out: str | Path, sessions: int = SESSIONS, seed: int = 0, tokenizer_epochs: int = 20,
                  tokenizer_min_steps: int = TOKENIZER_SCHEDULE.min_steps,
                  generator_epochs: int = GENERATOR_EPOCHS, synth: MarsSynthConfig | None = None,
                  tokenizer_config: TokenizerConfig = TokenizerConfig(),
                  generator_config: GeneratorConfig = GeneratorConfig(), batch_size: int | None = None,
                  personal: bool = False, baseline_epochs: int = MARS_BASELINE_EPOCHS) -> Path:
    """The defaults fit the 15-minute budget on 2 CPU cores (docs/demo.md). synth: the synthetic
    corpus's settings (default: `sessions` sessions, the rest MarsSynthConfig's); batch_size: both
    trainings' (default: theirs); personal: the generator conditioned on the listener's personality
    (REACT 2026), scored told no one and told who (a second generation pass); baseline_epochs: the
    trained baselines' (demo.BASELINES's multiples of it); tokenizer_min_steps: the tokenizer's step
    floor (TrainConfig.min_steps: a small corpus trains it more epochs)."""
    batch = {} if batch_size is None else {"batch_size": batch_size}
    out = Path(out)
    corpus = out / "corpus"
    clock = StageClock()
    t0 = time.perf_counter()
    made = None
    if not corpus.is_dir():
        made = synth or MarsSynthConfig(sessions=sessions, seed=seed)
        print(f"[demo] synthesizing a MARS-layout corpus of {made.sessions} sessions into {corpus}")
        synthesize_mars(corpus, made)
    elif not is_mars(corpus):
        raise DataError(corpus, "not a MARS corpus: `facereact demo --layout mars` reuses only a MARS corpus "
                                "(give another --out)")
    report = check_corpus(corpus)
    print(report.text())
    if not report.ok:
        raise SystemExit(1)
    clock.lap("corpus")
    tok_dir, gen_dir = out / "tokenizer", out / ("generator_personal" if personal else "generator_online")
    if not already_trained(tok_dir):
        print(f"[demo] training the FSQ tokenizer ({tokenizer_epochs} epochs, more where they are under "
              f"{tokenizer_min_steps} steps)")
        train_tokenizer(corpus, tok_dir, tokenizer_config, replace(TOKENIZER_SCHEDULE, epochs=tokenizer_epochs,
                                                                   min_steps=tokenizer_min_steps,
                                                                   seed=seed, **batch))
    clock.lap("tokenizer")
    if not already_trained(gen_dir):
        print(f"[demo] training the online {'personal ' if personal else ''}generator ({generator_epochs} epochs)")
        train_generator(corpus, tok_dir, gen_dir, generator_config,
                        replace(GENERATOR_SCHEDULE, epochs=generator_epochs, seed=seed, **batch), personal=personal)
    clock.lap("online generator")
    if SAMPLING_KEY not in read_config(gen_dir):
        print("[demo] the generator chooses its sampling on val, by react2025's figures (generator/choose.py)")
        # with every input only: what the react2025 table scores (the audio-alone draws would cost 76 s)
        print(choose_sampling(gen_dir, corpus, "val", seed, audio_alone=False).table())
        clock.lap("sampling")
    baseline_dirs = train_baselines(corpus, out, True, baseline_epochs, seed, clock, batch_size)  # online, as ours
    print("[demo] generating and scoring ours beside the challenge's baselines on val (react2025)")
    _, table = benchmark_react2025(corpus, out, "val", "both", SAMPLES, seed, model_dirs=[gen_dir, *baseline_dirs])
    print(table)
    clock.lap("generate and evaluate")
    plot_behaviour_curves(json.loads((out / "behaviour_curves.json").read_text()), out / "behaviour_curves.png")
    plot_training_curve(tok_dir / "joint" / "train_log.csv", out / "tokenizer_training.png", ("loss", "face_l1"))
    plot_training_curve(gen_dir / "train_log.csv", out / f"{gen_dir.name}_training.png", ("loss", "val_loss"))
    page = write_results_page(out, "facereact demo: REACT 2025/2026 (MARS)", intro(made, personal))
    clock.lap("pictures")
    print(clock.table())
    write_text_atomic(out / "timings.json", json.dumps(clock.seconds, indent=1))
    print(f"[demo] done in {time.perf_counter() - t0:.0f} s; results in {out.resolve()}: open {page}")
    return out
