"""Relative position for attention: a learned bias per head and per frame offset.

Attention by itself is blind to order, and the blocks' causal convolution only tells a frame
about its neighbours. A listener answers a speaker's smile about a second later and starts to
talk some tenths of a second after the speaker stops; to time that, a score has to know how far
back a key frame lies. The bias is a table indexed by the offset (query frame minus key frame),
so the parallel forward and the one-frame step read the same numbers, at any position in a clip
(a step reads it by each cached key's age: nn/ring.py).
"""
from __future__ import annotations

import torch
from collections.abc import Hashable

from torch import nn

_CACHED = 4096  # biases kept per module: a band's (length, phase) pairs, a few hundred in practice


class RelativeBias(nn.Module):
    def __init__(self, heads: int, past: int, future: int = 0) -> None:
        super().__init__()
        self.past, self.future = past, future
        # ALiBi's start (Press et al. 2022): head h discounts a frame d away by d * 2^(-8(h+1)/H),
        # so the heads begin at time scales from a few frames to the whole band; training then
        # shapes each offset freely (a reaction a second later, not the nearest frame).
        slopes = 2.0 ** (-8.0 * torch.arange(1, heads + 1) / heads)
        offsets = torch.arange(-future, past + 1).abs()
        self.table = nn.Parameter(-slopes[:, None] * offsets[None, :])

    def forward(self, offsets: torch.Tensor) -> torch.Tensor:
        """offsets (..., S) integer query-minus-key frames within [-future, past] -> (H, ..., S)."""
        return self.table[:, offsets + self.future]

    def for_step(self, offsets: torch.Tensor, key: Hashable) -> torch.Tensor:
        """forward(offsets)[:, None] (H, 1, S) for a one-frame step, kept by `key` (which must
        determine the offsets: ring.Span.age_key) until the table changes, so a stream reads its few
        hundred distinct biases instead of gathering one every frame. Uncached under autograd."""
        if torch.is_grad_enabled():
            return self(offsets)[:, None]
        version = (self.table.data_ptr(), self.table._version)
        if getattr(self, "_version", None) != version or len(self._biases) > _CACHED:
            self._version, self._biases = version, {}
        bias = self._biases.get(key)
        if bias is None:
            bias = self._biases[key] = self(offsets)[:, None]
        return bias

    def masked(self, mask: torch.Tensor) -> torch.Tensor:
        """(T, S) boolean band mask over aligned frames -> (H, T, S) float mask: the bias where
        allowed, -inf elsewhere (every row keeps its own frame, so no row is all -inf)."""
        t = torch.arange(mask.shape[0], device=mask.device)
        s = torch.arange(mask.shape[1], device=mask.device)
        offsets = (t[:, None] - s[None, :]).clamp(-self.future, self.past)
        return self(offsets).masked_fill(~mask, float("-inf"))
