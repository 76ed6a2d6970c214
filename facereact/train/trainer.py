"""The trainer every model uses.

A task supplies the model, how many training items it has, how to build a batch from item
indices and per-item seeds, the loss, and validation. The trainer owns the rest: sharding across
torchrun processes, AdamW with warm-up and cosine decay, gradient clipping, bf16 autocast where the
hardware has it (TrainConfig.precision), an average of the weights where asked (TrainConfig.average:
validated and kept at the end), tqdm progress, a CSV log (and TensorBoard when installed), periodic
validation, atomic checkpoints and exact resume.

Batches are a pure function of (seed, step): the global batch of a step is a slice of a seeded
permutation of the items, and every item gets its own seed from its position in that permutation.
So a resumed run sees exactly the batches it would have seen, and N processes (each taking every
N-th item of the global batch) see the same windows as one process with the same global batch.
"""
from __future__ import annotations

import contextlib
import csv
import io
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from facereact.errors import UsageError
from facereact.io import write_text_atomic
from facereact.train import checkpoint, distributed
from facereact.train.averaging import WeightAverage, decay_for
from facereact.train.schedules import PRECISIONS, TrainConfig


class Task(Protocol):
    model: nn.Module

    def num_items(self) -> int: ...

    def make_batch(self, indices: list[int], seeds: list[int], device: torch.device) -> Any: ...

    def loss(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, float]]: ...

    def validate(self, model: nn.Module) -> dict[str, float]: ...


def lr_at(step: int, total: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio * lr."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, total - config.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.lr * (config.min_lr_ratio + (1 - config.min_lr_ratio) * cosine)


def _item_seed(seed: int, epoch: int, position: int) -> int:
    return (seed * 1_000_003 + epoch * 100_003 + position) % (2 ** 63)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on the weight matrices only. Biases and norms are 1-d; embeddings and the
    attentions' per-offset bias tables (nn/position.py) are 2-d but are lookup tables, not
    transforms: decaying a position table pulls it from its ALiBi start toward order-blind
    attention, and decaying a digit embedding shrinks rare tokens toward the mean token."""
    from facereact.nn.position import RelativeBias

    tables = {id(p) for m in model.modules() if isinstance(m, (nn.Embedding, RelativeBias)) for p in m.parameters()}
    trained = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trained if p.ndim >= 2 and id(p) not in tables]
    no_decay = [p for p in trained if p.ndim < 2 or id(p) in tables]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class Trainer:
    def __init__(self, config: TrainConfig, out: str | Path, progress: bool = True) -> None:
        self.config = config
        self.out = Path(out)
        self.progress = progress

    def fit(self, task: Task, resume: bool = False, max_steps: int | None = None) -> dict[str, float]:
        """Train; with resume=True continue from the latest checkpoint under out/checkpoints.

        max_steps stops early (as an interruption would) after that many steps in total.
        """
        cfg = self.config
        dist_ = distributed.setup(cfg.device)
        torch.manual_seed(cfg.seed)
        model = task.model.to(dist_.device)
        n_items = task.num_items()
        if cfg.batch_size % dist_.world:
            raise UsageError(f"batch size {cfg.batch_size} is not divisible by {dist_.world} processes")
        steps_per_epoch = n_items // cfg.batch_size
        if steps_per_epoch == 0:
            raise UsageError(f"{n_items} training items are fewer than one batch of {cfg.batch_size}")
        total = cfg.total_steps(n_items)
        optimizer = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=cfg.betas)
        start = 0
        ckpt_dir = self.out / "checkpoints"
        average = WeightAverage(model, decay_for(cfg.average, total)) if cfg.average else None
        if resume:
            state = checkpoint.load_training_state(ckpt_dir, model, optimizer)
            start = state["step"] if state else 0
            if state and average is not None:
                if "average" not in state:
                    raise UsageError(f"{state['path']}: a checkpoint of a run without a weight average (trained "
                                     "before averages or with --average 0): resume it with --average 0")
                average.load(state["average"], start, state["path"])
        wrapped = DistributedDataParallel(model) if dist_.world > 1 else model
        autocast = mixed_precision(cfg.precision, dist_.device)
        log = _Log(self.out / "train_log.csv", enabled=dist_.main, keep_until=start)
        last_val: dict[str, float] = {}
        stop = total if max_steps is None else min(total, max_steps)
        bar = tqdm(total=total, initial=start, desc=f"train {self.out.name}", disable=not (self.progress and dist_.main))
        t0 = time.perf_counter()
        for step in range(start, stop):
            epoch, in_epoch = divmod(step, steps_per_epoch)
            order = torch.randperm(n_items, generator=torch.Generator().manual_seed(cfg.seed * 7919 + epoch))
            positions = range(in_epoch * cfg.batch_size + dist_.rank, (in_epoch + 1) * cfg.batch_size, dist_.world)
            batch = task.make_batch([int(order[p]) for p in positions],
                                    [_item_seed(cfg.seed, epoch, p) for p in positions], dist_.device)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total, cfg)
            wrapped.train()
            with autocast:
                loss, logs = task.loss(wrapped, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip))
            optimizer.step()
            if average is not None:
                average.update()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            done = step + 1
            if done % cfg.log_every == 0 or done == stop:
                log.write({"step": done, "epoch": epoch, "lr": lr_at(step, total, cfg), "loss": loss.item(),
                           "grad_norm": grad_norm, "seconds": round(time.perf_counter() - t0, 2), **logs})
            end_of_epoch = done % steps_per_epoch == 0
            if end_of_epoch and ((done // steps_per_epoch) % cfg.validate_every == 0 or done == total) and dist_.main:
                model.eval()
                with torch.no_grad(), (average.applied() if average else contextlib.nullcontext()):
                    last_val = task.validate(model)
                log.write({"step": done, "epoch": epoch, **{f"val_{k}": v for k, v in last_val.items()}})
            if (done % cfg.checkpoint_every == 0 or end_of_epoch or done == stop) and dist_.main:
                checkpoint.save_training_state(ckpt_dir, done, model, optimizer, {"config": asdict(cfg)},
                                               keep=cfg.keep_checkpoints,
                                               average=average.tensors() if average else None)
            distributed.barrier(dist_)
        bar.close()
        if average is not None and stop == total:  # a finished run keeps the average; an interrupted one resumes
            average.copy_to()
        log.close()
        if dist_.world > 1:
            _check_replicas(model, dist_, self.out / "replicas.json")
        # The process group stays up for later fits in this process (re-creating it races in
        # torch's store); the command leaves it on exit (distributed.teardown).
        return last_val


def _check_replicas(model: nn.Module, d: distributed.Dist, record: Path) -> None:
    """Gather every process's weights; rank 0 records the largest difference. DDP keeps them equal,
    so anything else is a bug worth stopping for."""
    import json

    import torch.distributed as dist

    flat = torch.cat([p.detach().reshape(-1).float().cpu() for p in model.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(d.world)]
    dist.all_gather(gathered, flat)
    worst = max(float((g - gathered[0]).abs().max()) for g in gathered)
    if d.main:
        record.write_text(json.dumps({"processes": d.world, "max_abs_difference": worst}) + "\n")
    if worst != 0.0:
        raise RuntimeError(f"replica weights differ across {d.world} processes (max {worst})")


def native_bf16(device: torch.device) -> bool:
    """Whether `device` multiplies bf16 matrices natively (faster than float32, not emulated)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return (device.type == "cpu" and torch.backends.mkldnn.is_available()
            and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def mixed_precision(precision: str, device: torch.device):
    """The context a training step runs its forward pass in: bf16 autocast or nothing (TrainConfig.precision).
    A CPU without native bf16 stays in float32: emulated, bf16 would only be slower."""
    if precision not in PRECISIONS:
        raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    wanted = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if wanted and native_bf16(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class _Log:
    """Training metrics to CSV (columns grow as new keys appear) and to TensorBoard if installed."""

    def __init__(self, path: Path, enabled: bool, keep_until: int) -> None:
        """keep_until: on resume, rows up to this step survive; later ones will be written again."""
        self.path = path
        self.enabled = enabled
        self.rows: list[dict] = []
        if enabled and keep_until > 0 and path.is_file():
            with open(path, newline="") as f:
                self.rows = [r for r in csv.DictReader(f) if int(r["step"]) <= keep_until]
        self.tb = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(path.parent / "tensorboard"))
            except Exception:  # tensorboard not installed: CSV only
                self.tb = None

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        step = int(row["step"])
        self.rows.append(row)
        keys = list(dict.fromkeys(k for r in self.rows for k in r))
        buffer = io.StringIO()
        w = csv.DictWriter(buffer, fieldnames=keys)
        w.writeheader()
        w.writerows(self.rows)
        write_text_atomic(self.path, buffer.getvalue())  # a crash never leaves half a log
        if self.tb is not None:
            for k, v in row.items():
                if k not in ("step", "epoch") and isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
