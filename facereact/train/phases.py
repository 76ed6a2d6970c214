"""Training in phases, and the ending every training run shares.

A model may train in several phases (the tokenizer's joint phase then its emotion reader,
BeLFusion's behaviour VAE then its diffusion), each a trainer run with its own checkpoints under
out/<phase>. `fit_phases` runs them in order, resumes the phase a run stopped in, and counts
max_steps across phases, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from facereact.errors import UsageError
from facereact.io import write_text_atomic
from facereact.train.distributed import is_main_process
from facereact.train.trainer import Task, TrainConfig, Trainer


@dataclass
class Phase:
    folder: str  # under out; "" trains in out itself
    task: Callable[[], Task]  # built when the phase starts (a phase may freeze what the last trained)
    config: TrainConfig


def fit_phases(phases: list[Phase], out: str | Path, resume: bool = False, progress: bool = True,
               max_steps: int | None = None) -> dict[str, float] | None:
    """Run the phases in order; the last phase's validation figures, or None when max_steps
    stopped the run early on purpose (resume it later)."""
    out = Path(out)
    if resume and not any((out / phase.folder / "checkpoints" / "latest").is_file() for phase in phases):
        raise UsageError(f"--resume: no checkpoint under {out} to resume from (train without --resume to start)")
    if not resume:  # a fresh run: stale checkpoints must not leak into a later phase
        for phase in phases:
            shutil.rmtree(out / phase.folder / "checkpoints", ignore_errors=True)
    val: dict[str, float] = {}
    steps_left = max_steps
    for phase in phases:
        task = phase.task()
        val = Trainer(phase.config, out / phase.folder, progress=progress).fit(task, resume=resume,
                                                                              max_steps=steps_left)
        if steps_left is not None:
            steps_left -= phase.config.total_steps(task.num_items())
            if steps_left <= 0:
                return None
        resume = True  # a later phase always continues what is on disk
    return val


def save_trained(model: Any, out: str | Path, metrics: dict[str, Any], train: TrainConfig,
                 settings: dict[str, Any] | None = None) -> None:
    """The end of every training run: the model folder (its config records how it was trained) and
    val_metrics.json beside it; only the main process writes."""
    if not is_main_process():
        return
    record = {"train": asdict(train), **({"training": settings} if settings else {}), "val": metrics}
    model.save(out, record)
    write_text_atomic(Path(out) / "val_metrics.json", json.dumps(metrics, indent=2) + "\n")

