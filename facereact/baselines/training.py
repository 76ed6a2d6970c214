"""Training the Trans-VAE and BeLFusion baselines on the shared trainer (loading them: baselines/files.py)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facereact.baselines import belfusion, trans_vae
from facereact.baselines.belfusion import BeLFusion, BeLFusionConfig
from facereact.baselines.clips import FeatureStats, PairArrays, fit_stats, load_raw_pairs, random_windows, to_arrays
from facereact.baselines.trans_vae import TransVAE, TransVAEConfig
from facereact.train import schedules
from facereact.train.phases import Phase, fit_phases, save_trained
from facereact.train.schedules import TrainConfig
from facereact.train.windows import long_enough, windows_per_epoch

SCHEDULE = schedules.BASELINES


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


def _frames(pair: PairArrays) -> int:
    return len(pair.speaker)


class _WindowTask:
    """Random windows of clip pairs; validation on the first window of every val pair."""

    def __init__(self, objective: _Objective, train: list[PairArrays], val: list[PairArrays], length: int) -> None:
        self.model, self.length = objective, length
        self.train = long_enough(train, _frames, length)
        self.val = [p for p in val if _frames(p) >= length]

    def num_items(self) -> int:
        return windows_per_epoch(self.train, _frames, self.length)

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


Plan = tuple[Callable, list[str] | None, int, TrainConfig, str]  # loss, trained parts, window, config, folder


def _train_phases(data: str | Path, out: str | Path, build: Callable[[FeatureStats], nn.Module],
                  plan: list[Plan], train: TrainConfig, resume: bool, progress: bool,
                  max_steps: int | None) -> nn.Module:
    """Build the model on the training split's statistics, fit the phases of `plan` in order, each
    in out/<folder> with its own checkpoints (resumable), then save the model under out."""
    out, t0 = Path(out), time.perf_counter()
    raw_train, raw_val = load_raw_pairs(data, "train", progress), load_raw_pairs(data, "val", progress)
    stats = fit_stats(raw_train, data)
    train_pairs, val_pairs = to_arrays(raw_train, stats), to_arrays(raw_val, stats)
    torch.manual_seed(train.seed)
    built = build(stats)

    def task(loss: Callable, trained: list[str] | None, length: int) -> Callable[[], _WindowTask]:
        return lambda: _WindowTask(_Objective(built, loss, trained), train_pairs, val_pairs, length)

    phases = [Phase(folder, task(loss, trained, length), config) for loss, trained, length, config, folder in plan]
    val = fit_phases(phases, out, resume, progress, max_steps)
    if val is None:
        return built  # interrupted on purpose: resume later
    for p in built.parameters():
        p.requires_grad_(True)
    metrics = {**{f"val_{k}": v for k, v in val.items()}, "train_seconds": round(time.perf_counter() - t0, 1)}
    save_trained(built, out, metrics, train)
    return built


def train_trans_vae(data: str | Path, out: str | Path, config: TransVAEConfig = TransVAEConfig(),
                    train: TrainConfig = SCHEDULE, resume: bool = False, progress: bool = True,
                    max_steps: int | None = None) -> TransVAE:
    return _train_phases(data, out, lambda stats: TransVAE(replace(config, stats=stats)),
                         [(trans_vae.trans_vae_loss, None, config.window, train, "fit")],
                         train, resume, progress, max_steps)


def train_belfusion(data: str | Path, out: str | Path, config: BeLFusionConfig = BeLFusionConfig(),
                    train: TrainConfig = SCHEDULE, resume: bool = False, progress: bool = True,
                    max_steps: int | None = None) -> BeLFusion:
    """Phase 1 (behaviour VAE, half the epochs) then phase 2 (diffusion, the VAE frozen)."""
    half = max(1, train.epochs // 2)
    return _train_phases(data, out, lambda stats: BeLFusion(replace(config, stats=stats)), [
        (_behaviour_loss, ["vae"], config.window, replace(train, epochs=half), "behaviour"),
        (belfusion.diffusion_loss, ["speaker_encoder", "start", "denoiser"], 2 * config.window,
         replace(train, epochs=max(1, train.epochs - half)), "diffusion")], train, resume, progress, max_steps)
