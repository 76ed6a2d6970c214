"""An exponential moving average of a model's weights (Polyak averaging), kept beside training.

The weights at the last step carry the last batches' noise; their average over the last few
hundred steps usually samples better and varies less between training seeds. The trainer updates
the average after every optimizer step, validates and finally keeps the averaged weights, and
writes the average into each checkpoint so that a resumed run continues the same average.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from facereact.errors import UsageError

# The decay starts small so that the first steps' random weights do not linger in the average:
# at step s it is min(decay, (1 + s) / (WARMUP + s)).
WARMUP = 10


class WeightAverage:
    """The average of `model`'s floating-point state (weights and buffers) in float32."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise UsageError(f"the weight average's decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.shadow = {k: v.detach().float().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    def decay_at(self, step: int) -> float:
        """The decay of the update after `step` optimizer steps (0-based)."""
        return min(self.decay, (1 + step) / (WARMUP + step))

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        weight = 1.0 - self.decay_at(step)
        for name, value in model.state_dict().items():
            if name in self.shadow:
                self.shadow[name].lerp_(value.detach().float(), weight)

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """The averaged weights into `model` (in its own dtypes)."""
        own = model.state_dict()
        model.load_state_dict({**own, **{k: v.to(own[k].dtype) for k, v in self.shadow.items()}})

    @contextmanager
    def applied(self, model: nn.Module) -> Iterator[None]:
        """`model` holds the averaged weights inside the block, its own again after."""
        saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.copy_to(model)
        try:
            yield
        finally:
            model.load_state_dict(saved)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The average, for a checkpoint."""
        return {k: v.cpu().contiguous() for k, v in self.shadow.items()}

    def load(self, tensors: dict[str, torch.Tensor], source: str) -> None:
        """A checkpoint's average back; `source` names it in errors."""
        if tensors.keys() != self.shadow.keys():
            raise UsageError(f"{source}: the checkpoint's weight average holds other tensors than this model's: "
                             "resume with the settings it was trained with")
        for name, value in tensors.items():
            self.shadow[name].copy_(value)
