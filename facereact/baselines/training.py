"""Training the Trans-VAE and BeLFusion baselines on the shared trainer, and loading them back."""
from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facereact.baselines import belfusion, trans_vae
from facereact.baselines.belfusion import BeLFusion, BeLFusionConfig
from facereact.baselines.clips import FeatureStats, PairArrays, fit_stats, load_raw_pairs, random_windows, to_arrays
from facereact.baselines.trans_vae import TransVAE, TransVAEConfig
from facereact.data.errors import DataError
from facereact.io import write_text_atomic
from facereact.train.checkpoint import model_kind
from facereact.train.distributed import is_main_process
from facereact.train.trainer import TrainConfig, Trainer

BASELINE_KINDS = {trans_vae.KIND: TransVAE, belfusion.KIND: BeLFusion}


class _Objective(nn.Module):
    """One training phase as a module whose forward is the loss, so DDP sees every step through
    its forward; parameters outside `trained` are frozen for the phase."""

    def __init__(self, model: nn.Module, loss: Callable, trained: list[str] | None = None) -> None:
        super().__init__()
        self.module, self.fn = model, loss
        for name, p in model.named_parameters():
            p.requires_grad_(trained is None or name.split(".")[0] in trained)

    def forward(self, *batch: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        return self.fn(self.module, *batch)


class _WindowTask:
    """Random windows of clip pairs; validation on the first window of every val pair."""

    def __init__(self, objective: _Objective, train: list[PairArrays], val: list[PairArrays], length: int) -> None:
        self.model, self.length = objective, length
        self.train = [p for p in train if len(p.speaker) >= length]
        if not self.train:
            raise ValueError(f"no training pair has the {length} frames of one window")
        self.val = [p for p in val if len(p.speaker) >= length]

    def num_items(self) -> int:
        return sum(len(p.speaker) for p in self.train) // self.length

    def make_batch(self, indices: list[int], seeds: list[int], device: torch.device):
        return random_windows(self.train, indices, seeds, self.length, device)

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        return model(*batch)

    def validate(self, model: nn.Module) -> dict[str, float]:
        if not self.val:
            return {}
        device = next(model.parameters()).device
        batch = tuple(torch.from_numpy(np.stack(x)).to(device) for x in zip(*[
            (p.speaker[:self.length], p.listener_face[:self.length], p.listener_emotion[:self.length])
            for p in self.val]))
        with torch.no_grad():
            loss, logs = model(*batch)
        return {"loss": loss.item(), **logs}


def _behaviour_loss(model: BeLFusion, speaker: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor):
    return belfusion.vae_loss(model, face, emotion)


Phase = tuple[Callable, list[str] | None, int, TrainConfig, str]  # loss, trained parts, window, config, folder


def _train_phases(data: str | Path, out: str | Path, build: Callable[[FeatureStats], nn.Module],
                  plan: list[Phase], train: TrainConfig, resume: bool, progress: bool,
                  max_steps: int | None) -> nn.Module:
    """Build the model on the training split's statistics, fit the phases of `plan` in order, each
    in out/<folder> with its own checkpoints (resumable), then save the model under out."""
    out, t0 = Path(out), time.perf_counter()
    raw_train, raw_val = load_raw_pairs(data, "train", progress), load_raw_pairs(data, "val", progress)
    stats = fit_stats(raw_train)
    train_pairs, val_pairs = to_arrays(raw_train, stats), to_arrays(raw_val, stats)
    torch.manual_seed(train.seed)
    built = build(stats)
    if not resume:  # a fresh run: stale checkpoints must not leak into a later phase
        for *_, folder in plan:
            shutil.rmtree(out / folder, ignore_errors=True)
    val: dict = {}
    steps_left = max_steps
    for loss, trained, length, phase_config, folder in plan:
        task = _WindowTask(_Objective(built, loss, trained), train_pairs, val_pairs, length)
        val = Trainer(phase_config, out / folder, progress=progress).fit(task, resume=resume, max_steps=steps_left)
        if steps_left is not None:
            steps_left -= phase_config.epochs * (task.num_items() // phase_config.batch_size)
            if steps_left <= 0:
                return built  # interrupted on purpose: resume later
        resume = True  # a later phase always continues what is on disk
    for p in built.parameters():
        p.requires_grad_(True)
    if is_main_process():
        metrics = {**{f"val_{k}": v for k, v in val.items()}, "train_seconds": round(time.perf_counter() - t0, 1)}
        built.save(out, {"train": asdict(train), "val": metrics})
        write_text_atomic(out / "val_metrics.json", json.dumps(metrics, indent=2) + "\n")
    return built


def train_trans_vae(data: str | Path, out: str | Path, config: TransVAEConfig, train: TrainConfig,
                    resume: bool = False, progress: bool = True, max_steps: int | None = None) -> TransVAE:
    return _train_phases(data, out, lambda stats: TransVAE(replace(config, stats=stats)),
                         [(trans_vae.trans_vae_loss, None, config.window, train, "fit")],
                         train, resume, progress, max_steps)


def train_belfusion(data: str | Path, out: str | Path, config: BeLFusionConfig, train: TrainConfig,
                    resume: bool = False, progress: bool = True, max_steps: int | None = None) -> BeLFusion:
    """Phase 1 (behaviour VAE, half the epochs) then phase 2 (diffusion, the VAE frozen)."""
    half = max(1, train.epochs // 2)
    return _train_phases(data, out, lambda stats: BeLFusion(replace(config, stats=stats)), [
        (_behaviour_loss, ["vae"], config.window, replace(train, epochs=half), "behaviour"),
        (belfusion.diffusion_loss, ["speaker_encoder", "start", "denoiser"], 2 * config.window,
         replace(train, epochs=max(1, train.epochs - half)), "diffusion")], train, resume, progress, max_steps)


def load_baseline(folder: str | Path) -> TransVAE | BeLFusion:
    kind = model_kind(folder)
    if kind not in BASELINE_KINDS:
        raise DataError(Path(folder) / "config.json",
                        f"kind '{kind}' is not a trained baseline ({', '.join(BASELINE_KINDS)})")
    return BASELINE_KINDS[kind].load(folder)


def baseline_name(model: TransVAE | BeLFusion, folder: Path) -> str:
    setting = "online" if model.config.online else "offline"
    if isinstance(model, TransVAE):
        return f"Trans-VAE ({setting}, {folder.name})"
    extra = ", binarized AUs" if model.config.binarize_aus else ""
    return f"BeLFusion (k={model.config.best_of}, {setting}{extra}, {folder.name})"
