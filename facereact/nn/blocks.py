"""Pre-norm transformer blocks over frame sequences, run in parallel or one frame at a time.

Attention is causal and optionally banded (a frame sees the `context` frames before it and
itself), so a model trained on short windows runs on a clip of any length with no block
boundaries. Position comes from a causal depthwise convolution in each block and, where a block
asks for it, a learned bias per frame offset (nn/position.py), never from absolute position
embeddings, so frame t behaves the same at position 5 of a window and 500 of a clip.

`step` runs one new frame against the block's state (the streaming contract, nn/streaming.py:
named tensors from `init_state`, the convolution's last inputs and a ring of the attention's keys
and values over the band, nn/ring.py), so streaming costs one frame's work per frame and gives
the same numbers as the parallel forward. Which path a step takes, compiled (nn/fast.py) or
torch, is decided in one place, `Block.step`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facereact.errors import UsageError
from facereact.nn import fast, ring
from facereact.nn.position import RelativeBias
from facereact.nn.streaming import State


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Attention for a few query frames against a cached band: q (..., n_q, D), k and v (..., n, D),
    bias broadcastable to (..., n_q, n). Scaling q, not k (as SDPA's CPU path does), keeps a step
    from touching the whole band one more time."""
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)
    if bias is not None:
        scores = scores + bias
    return scores.softmax(-1) @ v


def band_mask(length: int, context: int | None, device: torch.device) -> torch.Tensor:
    """(T, T) boolean mask, True where query t may attend key s: t - context <= s <= t."""
    t = torch.arange(length, device=device)
    delta = t[:, None] - t[None, :]
    allowed = delta >= 0
    if context is not None:
        allowed &= delta <= context
    return allowed  # the diagonal is always allowed, so no row is empty (no NaN)


def symmetric_band_mask(length: int, context: int, device: torch.device) -> torch.Tensor:
    """(T, T) True where |t - s| <= context: attention both ways, for offline models."""
    t = torch.arange(length, device=device)
    return (t[:, None] - t[None, :]).abs() <= context


class CausalConv(nn.Module):
    """Depthwise 1-d convolution over time that sees only the current and past frames."""

    def __init__(self, width: int, kernel: int = 3) -> None:
        super().__init__()
        self.kernel = kernel
        self.conv = nn.Conv1d(width, width, kernel, groups=width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        y = F.pad(x.transpose(1, 2), (self.kernel - 1, 0))
        return self.conv(y).transpose(1, 2)

    def step(self, x: torch.Tensor, past: torch.Tensor, rows: np.ndarray | None = None) -> torch.Tensor:
        """x (B, 1, C): the next frame of every row of `past` (rows, kernel - 1, C: the last inputs,
        shifted in place), or of `rows` only."""
        index = slice(None) if rows is None else torch.from_numpy(rows)
        window = torch.cat([past[index], x], 1)  # (B, kernel, C)
        past[index] = window[:, 1:]
        # weight (C, 1, kernel) read as (kernel, C): a product and a sum (einsum plans a batched
        # matrix product for this, several times slower at one frame)
        return (window * self.conv.weight[:, 0].t()).sum(1, keepdim=True) + self.conv.bias


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float = 0.0,
                 position: tuple[int, int] | None = None) -> None:
        """position: (past, future) frames of a learned relative-position bias (nn/position.py);
        None keeps attention order-blind (the tokenizer's and the baselines' blocks)."""
        super().__init__()
        if width % heads:
            raise UsageError(f"width {width} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.dropout = dropout
        self.position = None if position is None else RelativeBias(heads, *position)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if self.position is not None:
            mask = self.position.masked(mask)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0)
        return self.out(y.transpose(1, 2).reshape(b, t, c))

    def step(self, x: torch.Tensor, state: State, rows: np.ndarray | None = None) -> torch.Tensor:
        """One new frame (B, 1, C) attending to itself and the frames of its ring (nn/ring.py, in
        `state`) within the band, for every row of the ring or for `rows` of it."""
        b, _, c = x.shape
        q, k, v = self.qkv(x).view(b, 1, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        extent = ring.append(state, state["keys"].shape[2], k, v, rows)
        k, v = state["keys"].narrow(2, 0, extent.length), state["values"].narrow(2, 0, extent.length)
        if rows is not None:
            k, v = k[torch.from_numpy(rows)], v[torch.from_numpy(rows)]
        y = attend(q, k, v, ring.bias(state, extent, self.position, rows))
        return self.out(y.transpose(1, 2).reshape(b, 1, c))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, dropout: float = 0.0,
                 position: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.conv_norm = nn.LayerNorm(width)
        self.conv = CausalConv(width)
        self.attn_norm = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, dropout, position)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.conv(self.conv_norm(x))
        x = x + self.attn(self.attn_norm(x), mask)
        return x + self.mlp(self.mlp_norm(x))

    def init_state(self, rows: int, context: int) -> State:
        """A new stream of `rows` rows: the convolution's past (zeros: before the stream) and an
        empty ring of the attention's keys and values over the last context + 1 frames."""
        width, heads = self.conv_norm.normalized_shape[0], self.attn.heads
        if context is None:
            raise UsageError("a block streams over a bounded band: its context is None")
        return {"conv": torch.zeros(rows, self.conv.kernel - 1, width),
                **ring.new_ring(rows, heads, context + 1, width // heads)}

    def step(self, x: torch.Tensor, state: State, rows: np.ndarray | None = None) -> torch.Tensor:
        """The next frame x (B, 1, C) of every row of `state`, or of `rows` of it (the others keep
        their past as it is): compiled where it applies (nn/fast.py), else in torch."""
        if fast.enabled(x):
            slot, extent = ring.advance(state, state["keys"].shape[2], rows)
            return fast.block_step(fast.arrays(self, _compiled_weights), x, state, extent.length, rows)
        x = x + self.conv.step(self.conv_norm(x), state["conv"], rows)
        x = x + self.attn.step(self.attn_norm(x), state, rows)
        up, act, down, _ = self.mlp  # no dropout call: a step is inference
        return x + down(act(up(self.mlp_norm(x))))


def _compiled_weights(block: Block) -> list:
    """The block's weights as the compiled step takes them (nn/fast.py, block_step)."""
    norms = [block.conv_norm, block.attn_norm, block.mlp_norm]
    up, act, down, _ = block.mlp
    if getattr(act, "approximate", "none") != "none" or len({n.eps for n in norms}) != 1:
        raise ValueError("the compiled step covers the exact GELU and one layer-norm epsilon")
    stacked = np.stack([np.stack([n.weight.detach().numpy(), n.bias.detach().numpy()]) for n in norms])
    conv = block.conv.conv
    return [np.ascontiguousarray(conv.weight.detach().numpy()[:, 0].T), conv.bias.detach().numpy().copy(),
            np.ascontiguousarray(stacked, np.float32), *fast.linear(block.attn.qkv), *fast.linear(block.attn.out),
            *fast.linear(up), *fast.linear(down), float(norms[0].eps), block.attn.heads,
            *fast.bias_table(block.attn.position), block.attn.position is not None]


class Stack(nn.Module):
    """in_dim -> width -> `layers` blocks -> out_dim, causal with a `context`-frame band."""

    def __init__(self, in_dim: int, out_dim: int, width: int, layers: int, heads: int, context: int | None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.context = context
        self.inp = nn.Linear(in_dim, width)
        self.blocks = nn.ModuleList(Block(width, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.outp = nn.Linear(width, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, in_dim)
        mask = band_mask(x.shape[1], self.context, x.device)
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, mask)
        return self.outp(self.norm(h))

    def init_state(self, rows: int) -> list[State]:
        return [block.init_state(rows, self.context) for block in self.blocks]

    def step(self, x: torch.Tensor, state: list[State], rows: np.ndarray | None = None) -> torch.Tensor:
        """(B, 1, in_dim) -> (B, 1, out_dim) for the next frame; `state` (init_state) carries the
        past; rows: which of its rows these B frames belong to (None: all)."""
        h = self.inp(x)
        for block, block_state in zip(self.blocks, state):
            h = block.step(h, block_state, rows)
        return self.outp(self.norm(h))
