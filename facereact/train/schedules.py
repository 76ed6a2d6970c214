"""Training settings and each model's default schedule: torch-free, so the CLI's flag defaults
come from here without importing torch."""
from __future__ import annotations

from dataclasses import dataclass, replace


PRECISIONS = ("auto", "bf16", "fp32")  # TrainConfig.precision's values


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32  # global: split evenly over the processes
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.1
    warmup_steps: int = 300
    min_lr_ratio: float = 0.1  # cosine decays to this share of lr
    grad_clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 200  # steps; also at the end of every epoch
    keep_checkpoints: int = 2  # the newest this many stay on disk (more: to pick one afterwards)
    validate_every: int = 1  # epochs; the last epoch is always validated
    log_every: int = 10  # steps
    device: str | None = None  # None: cuda when available
    # The forward pass under bf16 autocast (weights, optimizer and losses stay float32): "auto" on
    # CUDA only; "bf16" also on a CPU that computes bf16 natively (AVX512-BF16, AMX); "fp32" never.
    precision: str = "auto"
    # At least this many optimizer steps: where `epochs` of a small corpus fall short, more epochs
    # run. A recipe in epochs alone starves a small corpus (docs/quality.md). 0: epochs decide.
    min_steps: int = 0
    # An exponential moving average of the weights (train/averaging.py), which validation sees and the
    # finished run keeps: its span (1 / (1 - decay)) as a share of the run's steps, so that it averages
    # the same part of a short run as of a long one. 0: none, the last step's weights.
    average: float = 0.0

    def epochs_for(self, steps_per_epoch: int) -> int:
        """The epochs that run: `epochs`, or as many more as reach min_steps."""
        return max(self.epochs, -(-self.min_steps // max(1, steps_per_epoch)))

    def total_steps(self, items: int) -> int:
        """The steps a run over `items` training items takes: whole epochs of whole batches."""
        per_epoch = items // self.batch_size
        return self.epochs_for(per_epoch) * per_epoch


# A tokenizer's phases: the first 80% of epochs train everything; the rest only the emotion reader,
# whose step floor keeps the same share of the joint phase's.
JOINT_SHARE = 0.8


def reader_floor(min_steps: int) -> int:
    """The reader phase's step floor for a tokenizer's `min_steps` (its joint phase's)."""
    return round(min_steps * (1 - JOINT_SHARE) / JOINT_SHARE)


# `facereact train tokenizer`: validated every 5 epochs, as whole val clips at every epoch cost a quarter of its time
# (min_steps: its joint phase's; on a small MARS corpus 288 steps kept no nod, 1000 kept them all)
TOKENIZER = TrainConfig(epochs=40, batch_size=32, lr=2e-3, warmup_steps=50, validate_every=5, min_steps=1000)
# `facereact train reader`: a tokenizer's emotion phase alone, as many epochs and steps as it has there
READER = replace(TOKENIZER, epochs=TOKENIZER.epochs - round(TOKENIZER.epochs * JOINT_SHARE),
                 min_steps=reader_floor(TOKENIZER.min_steps))
# `facereact train generator`; bf16 on CPU: a step 21% faster on the demo corpus (the tokenizer's 4%, the
# baselines' 18-26% slower: they stay "auto"). The weights' average spanning three quarters of the run (decay
# 0.999 in the demo's 1280 steps): over three training seeds on test, FRDist 98.4 against the last step's 102.1
# on the demo corpus and 76.1 against 81.6 on the MARS demo's, at a weaker nod (docs/quality.md, "The averaged
# recipe over training seeds").
GENERATOR = TrainConfig(epochs=30, batch_size=16, lr=1e-3, warmup_steps=50, precision="bf16", average=0.75)
DISTILL = TrainConfig(epochs=4, batch_size=16, lr=3e-4, warmup_steps=20)  # `facereact train distill`: from the teacher
BASELINES = TrainConfig(epochs=20, batch_size=16, lr=1e-3, warmup_steps=50)  # Trans-VAE and BeLFusion
