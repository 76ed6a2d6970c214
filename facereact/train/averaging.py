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


def decay_for(span: float, steps: int) -> float:
    """The decay of an average spanning `span` of a run of `steps` steps (1 / (1 - decay) = span x
    steps; at least 2 steps, whatever the run)."""
    return 1.0 - 1.0 / max(2.0, span * steps)


class WeightAverage:
    """The exponential average of the trained parameters a model went through, in float32 (buffers,
    which training does not change, stay the model's). It starts from zero and is divided by the
    weight it has gathered (as Adam corrects its moments), so the untrained start carries no weight
    and the decay is the one asked for from the first step on."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise UsageError(f"the weight average's decay must be in (0, 1), got {decay}")
        self.decay, self.steps = decay, 0
        # the live parameters are updated in place by the optimizer and by copy_to, so they are held once
        self.params = {k: p for k, p in model.named_parameters() if p.requires_grad}
        self.shadow = {k: torch.zeros_like(p, dtype=torch.float32) for k, p in self.params.items()}

    @torch.no_grad()
    def update(self) -> None:
        """After an optimizer step."""
        self.steps += 1
        for name, param in self.params.items():
            self.shadow[name].lerp_(param.float(), 1.0 - self.decay)

    def averaged(self) -> dict[str, torch.Tensor]:
        """The average (float32): the gathered sum over the weight it holds."""
        if self.steps == 0:
            raise UsageError("the weight average holds no step yet")
        gathered = 1.0 - self.decay ** self.steps
        return {k: v / gathered for k, v in self.shadow.items()}

    @torch.no_grad()
    def _set(self, values: dict[str, torch.Tensor]) -> None:
        for name, value in values.items():
            self.params[name].copy_(value)  # in the parameter's own dtype

    def copy_to(self) -> None:
        """The averaged parameters into the model (in its own dtypes)."""
        self._set(self.averaged())

    @contextmanager
    def applied(self) -> Iterator[None]:
        """The model holds the averaged parameters inside the block, its own again after."""
        saved = {k: p.detach().clone() for k, p in self.params.items()}
        self.copy_to()
        try:
            yield
        finally:
            self._set(saved)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The gathered sum, for a checkpoint (its step count is the checkpoint's step)."""
        return {k: v.cpu().contiguous() for k, v in self.shadow.items()}

    def load(self, tensors: dict[str, torch.Tensor], steps: int, source: str) -> None:
        """A checkpoint's sum back, gathered over `steps` steps; `source` names it in errors."""
        if tensors.keys() != self.shadow.keys():
            raise UsageError(f"{source}: the checkpoint's weight average holds other tensors than this model's: "
                             "resume with the settings it was trained with")
        for name, value in tensors.items():
            self.shadow[name].copy_(value)
        self.steps = steps
