"""The listener's block: causal self-attention over its own past, gated cross-attention to the
speaker stream of the same layer, MLP. Parallel forward for training, `step` for generation."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facereact.nn import fast, ring
from facereact.nn.blocks import Block, attend
from facereact.nn.position import RelativeBias
from facereact.nn.streaming import State


class CrossAttention(nn.Module):
    def __init__(self, width: int, heads: int, position: tuple[int, int] | None = None) -> None:
        """position: (past, future) speaker frames of a learned relative-position bias."""
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)
        self.position = None if position is None else RelativeBias(heads, *position)

    def keys_values(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, S, C) speaker frames -> keys and values (B, H, S, C / H); computed once per frame."""
        b, s, c = memory.shape
        k, v = self.kv(memory).view(b, s, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        return k, v

    def forward(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """mask: SDPA's attention mask, boolean or an additive float bias (position included)."""
        b, t, c = x.shape
        q = self.q(x).view(b, t, self.heads, c // self.heads).transpose(1, 2)
        speakers = k.shape[0]
        if t == 1:
            # Generation: each speaker's rows (its K reactions, clip-major) are that speaker's
            # queries, so the speaker's keys are read once, never copied per reaction.
            q = q.reshape(speakers, b // speakers, self.heads, c // self.heads).transpose(1, 2)
            y = attend(q, k, v, mask)  # (speakers, H, rows, C / H)
            return self.out(y.transpose(1, 2).reshape(b, 1, c))
        if speakers != b:
            k, v = k.repeat_interleave(b // speakers, 0), v.repeat_interleave(b // speakers, 0)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, t, c))


class ListenerBlock(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float = 0.0, context: int | None = None,
                 future: int = 0) -> None:
        """context: frames of relative-position bias on both attentions (None: order-blind);
        future: speaker frames ahead the cross-attention sees (offline)."""
        super().__init__()
        position = None if context is None else (context, 0)
        self.own = Block(width, heads, dropout, position)  # conv + causal self-attention + MLP
        self.cross_norm = nn.LayerNorm(width)
        self.cross = CrossAttention(width, heads, None if context is None else (context, future))
        # Flamingo-style gate: the listener starts from its own dynamics and learns how much of
        # the speaker to let in; every layer has one, so every layer fuses the two streams.
        self.gate = nn.Parameter(torch.tensor(0.5))

    def forward(self, x: torch.Tensor, self_mask: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                cross_mask: torch.Tensor, speaker_on: torch.Tensor | None = None) -> torch.Tensor:
        """speaker_on (B, 1, 1): 1 lets the speaker in, 0 gives the listener-only model (guidance)."""
        x = self.own(x, self_mask)
        position = self.cross.position
        mask = cross_mask if position is None else position.masked(cross_mask)
        return x + self._cross(x, k, v, mask, speaker_on)

    def init_state(self, rows: int, context: int) -> State:
        """The listener's own past (the speaker's is read from the speaker layers' rings)."""
        return self.own.init_state(rows, context)

    def step(self, x: torch.Tensor, state: State, k: torch.Tensor, v: torch.Tensor, newest: int,
             speaker_on: torch.Tensor | None = None) -> torch.Tensor:
        """Offline: k, v (speakers, H, n, D) a slice of the whole speaker clip in time order, slot
        `newest` at this listener frame's time (later slots: frames ahead)."""
        x = self.own.step(x, state)
        speakers, n = k.shape[0], k.shape[2]
        if fast.enabled(x):
            counts = np.full(speakers, newest + 1, np.int64)
            return fast.cross_step(fast.arrays(self, _compiled_weights), x, k, v, n, counts, 0,
                                   fast.series(x.shape[0], x.shape[0] // speakers), speaker_on)
        position = self.cross.position
        bias = None if position is None else position.for_step(newest - torch.arange(n), ("offline", newest, n))
        return x + self._cross(x, k, v, bias, speaker_on)

    def step_ring(self, x: torch.Tensor, state: State, speaker: State, speaker_on: torch.Tensor | None = None,
                  rows: np.ndarray | None = None, speakers: np.ndarray | None = None) -> torch.Tensor:
        """Online: the next frame of every listener row of `state` (or of `rows`), against the
        speakers' ring of keys and values (nn/ring.py; every speaker row, or `speakers`: one per
        conversation stepped, its listener rows consecutive in x)."""
        x = self.own.step(x, state, rows)
        keys, values = speaker["keys"], speaker["values"]
        chosen = keys.shape[0] if speakers is None else len(speakers)
        group = x.shape[0] // chosen
        keep = keys.shape[2]
        extent = ring.span(speaker, keep)
        if fast.enabled(x):
            band_rows = fast.series(x.shape[0], group) if speakers is None else np.repeat(speakers, group)
            return fast.cross_step(fast.arrays(self, _compiled_weights), x, keys, values, extent.length,
                                   speaker["frames"].numpy(), keep, band_rows, speaker_on)
        k, v = keys.narrow(2, 0, extent.length), values.narrow(2, 0, extent.length)
        if speakers is not None:
            k, v = k[torch.from_numpy(speakers)], v[torch.from_numpy(speakers)]
        return x + self._cross(x, k, v, ring.bias(speaker, extent, self.cross.position, speakers), speaker_on)

    def _cross(self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
               speaker_on: torch.Tensor | None) -> torch.Tensor:
        y = torch.tanh(self.gate) * self.cross(self.cross_norm(x), k, v, mask)
        return y if speaker_on is None else y * speaker_on


def _compiled_weights(block: ListenerBlock) -> list:
    """The cross-attention's weights as the compiled step takes them (nn/fast.py, cross_step)."""
    norm = block.cross_norm
    return [np.stack([norm.weight.detach().numpy(), norm.bias.detach().numpy()]), *fast.linear(block.cross.q),
            *fast.linear(block.cross.out), float(norm.eps), float(block.gate), block.cross.heads,
            *fast.bias_table(block.cross.position), block.cross.position is not None]
