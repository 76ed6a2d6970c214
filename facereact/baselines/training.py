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
from facereact.baselines.clips import (FeatureStats, PairArrays, fit_stats, load_raw_pairs, random_windows, to_arrays,
                                       window_arrays)
from facereact.baselines.trans_vae import TransVAE, TransVAEConfig
from facereact.errors import DataError
from facereact.layout import PERSONALITY_NAMES
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
    """Random windows of clip pairs; validation on the first window of every val pair.
    with_personality: each window also carries its listener's personality and whether it is known."""

    def __init__(self, objective: _Objective, train: list[PairArrays], val: list[PairArrays], length: int,
                 with_personality: bool = False) -> None:
        self.model, self.length, self.with_personality = objective, length, with_personality
        self.train = long_enough(train, _frames, length)
        self.val = [p for p in val if _frames(p) >= length]

    def num_items(self) -> int:
        return windows_per_epoch(self.train, _frames, self.length)

    def make_batch(self, indices: list[int], seeds: list[int], device: torch.device):
        return random_windows(self.train, indices, seeds, self.length, device, self.with_personality)

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        return model(*batch)

    def validate(self, model: nn.Module) -> dict[str, float]:
        if not self.val:
            return {}
        device = next(model.parameters()).device
        first = slice(0, self.length)
        batch = tuple(torch.from_numpy(np.stack(x)).to(device) for x in zip(*[
            window_arrays(p, first, self.with_personality) for p in self.val]))
        with torch.no_grad():
            loss, logs = model(*batch)
        return {"loss": loss.item(), **logs}


def _behaviour_loss(model: BeLFusion, speaker: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor):
    return belfusion.vae_loss(model, face, emotion)


Plan = tuple[Callable, list[str] | None, int, TrainConfig, str]  # loss, trained parts, window, config, folder


def _train_phases(data: str | Path, out: str | Path, build: Callable[[FeatureStats], nn.Module],
                  plan: list[Plan], train: TrainConfig, resume: bool, progress: bool,
                  max_steps: int | None, personal: bool = False) -> nn.Module:
    """Build the model on the training split's statistics, fit the phases of `plan` in order, each
    in out/<folder> with its own checkpoints (resumable), then save the model under out. personal:
    the phase in folder "personal" reads the listeners' personalities, which the train split must give."""
    out, t0 = Path(out), time.perf_counter()
    raw_train, raw_val = load_raw_pairs(data, "train", progress), load_raw_pairs(data, "val", progress)
    if personal and all(p.listener_personality is None for p in raw_train):
        raise DataError(Path(data) / "train", "no listener here has a personality (personality.csv, or MARS's "
                                              "personality/listener.csv): a personal model needs it")
    stats = fit_stats(raw_train, data)
    train_pairs, val_pairs = to_arrays(raw_train, stats), to_arrays(raw_val, stats)
    torch.manual_seed(train.seed)
    built = build(stats)

    def task(loss: Callable, trained: list[str] | None, length: int, folder: str) -> Callable[[], _WindowTask]:
        personal_phase = folder == "personal"
        return lambda: _WindowTask(_Objective(built, loss, trained), train_pairs, val_pairs, length, personal_phase)

    phases = [Phase(folder, task(loss, trained, length, folder), config)
              for loss, trained, length, config, folder in plan]
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
                    max_steps: int | None = None, personal: bool = False) -> BeLFusion:
    """Phase 1 (behaviour VAE, half the epochs) then phase 2 (diffusion, the VAE frozen); personal:
    then phase 3 (the listener's weight shifts, all else frozen, as many epochs as phase 2), on the
    listeners whose personality the split gives (data/personality.py)."""
    half = max(1, train.epochs // 2)
    diffusion = replace(train, epochs=max(1, train.epochs - half))
    if personal:
        config = replace(config, personality=len(PERSONALITY_NAMES))
    plan = [(_behaviour_loss, ["vae"], config.window, replace(train, epochs=half), "behaviour"),
            (belfusion.diffusion_loss, ["speaker_encoder", "start", "denoiser"], 2 * config.window, diffusion,
             "diffusion")]
    if personal:
        plan.append((belfusion.personal_diffusion_loss, ["shift"], 2 * config.window, diffusion, "personal"))
    return _train_phases(data, out, lambda stats: BeLFusion(replace(config, stats=stats)), plan, train, resume,
                         progress, max_steps, personal)
