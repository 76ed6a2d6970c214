"""Pre-norm transformer blocks over frame sequences, run in parallel or one frame at a time.

Attention is causal and optionally banded (a frame sees the `context` frames before it and
itself), so a model trained on short windows runs on a clip of any length with no block
boundaries. Position comes from a causal depthwise convolution in each block and, where a block
asks for it, a learned bias per frame offset (nn/position.py), never from absolute position
embeddings, so frame t behaves the same at position 5 of a window and 500 of a clip.

`step` runs one new frame against the module's own state object (BlockState: the convolution's
last inputs, the attention's keys and values trimmed to the band), so streaming costs one frame's
work per frame and gives the same numbers as the parallel forward. A stream's state is a plain
object owned by whoever streams: dropping it frees it, a fresh one restarts the stream.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from facereact.data.errors import UsageError
from facereact.nn import fast
from facereact.nn.position import RelativeBias


_AGES: dict[tuple[int, int, int], torch.Tensor] = {}  # (keep, length, phase) -> Band.ages()
_AGES_KEPT = 8192


class Band:
    """The last `keep` frames of a stream along `dim`, kept in a ring of exactly `keep` slots.

    An append overwrites the oldest slot, so a step copies one frame, and once full the band is the
    whole storage: contiguous, so attention reads it in place. (A sliding window copied the band
    every frame, or left a strided view that every matrix product copied again: together more than
    a third of a batched generation step.) The slots are then out of time order; `ages()` says how
    many frames back each slot lies, and attention, blind to key order but for its offset bias,
    reads the bias by age.

    Rows (dim 0) may hold streams of different lengths once bands are joined (conversations that
    started at different times: generator/cohort.py): `filled` counts each row's frames, and
    `invalid()` masks the slots a row has not filled yet. `keep=None` keeps every frame, in order,
    in a storage that doubles."""

    def __init__(self, keep: int | None, dim: int) -> None:
        self.keep, self.dim = keep, dim
        self.data: torch.Tensor | None = None
        self.count = 0  # frames appended (ring: slot count % keep is the next to write)
        self.filled: torch.Tensor | None = None  # (rows,) frames per row when rows differ; None: all `length`

    @property
    def length(self) -> int:
        return self.count if self.keep is None else min(self.count, self.keep)

    @property
    def view(self) -> torch.Tensor | None:
        """The band's slots (all of the storage once a ring is full)."""
        if self.data is None:
            return None
        return self.data if self.length == self.data.shape[self.dim] else self.data.narrow(self.dim, 0, self.length)

    @property
    def age_key(self) -> tuple[int, int]:
        """What determines ages(): the length and, once a ring has wrapped, its next slot."""
        wrapped = self.keep is not None and self.count > self.keep
        return self.length, self.count % self.keep if wrapped else -1

    def ages(self) -> torch.Tensor:
        """(length,) frames between each slot and the newest frame (0: the newest)."""
        if self.keep is None:
            return self.length - 1 - torch.arange(self.length)
        key = (self.keep, *self.age_key)
        ages = _AGES.get(key)
        if ages is None:  # a ring has at most 2 * keep distinct patterns: computed once each
            with torch.inference_mode(False):  # a plain tensor, usable under autograd too
                slots = torch.arange(self.length)
                ages = self.length - 1 - slots if self.count <= self.keep \
                    else ((self.count - 1) % self.keep - slots) % self.keep
            if len(_AGES) > _AGES_KEPT:
                _AGES.clear()
            _AGES[key] = ages
        return ages

    def invalid(self) -> torch.Tensor | None:
        """(rows, length) True at slots a row has not filled yet; None when every row is full."""
        if self.filled is None:
            return None
        return self.ages()[None, :] >= self.filled[:, None]

    def ordered(self) -> torch.Tensor | None:
        """The band's frames oldest first (a copy when the ring has wrapped)."""
        if self.keep is None or self.count <= self.keep:
            return self.view
        return torch.roll(self.data, -(self.count % self.keep), self.dim)

    def append(self, new: torch.Tensor) -> torch.Tensor:
        """Add `new`'s frames; the band (self.view)."""
        d, n = self.dim, new.shape[self.dim]
        if self.keep is None:
            if self.data is None or self.count + n > self.data.shape[d]:
                grown = new.new_empty(self._shape(new, 2 * (self.count + n)))
                if self.data is not None:
                    grown.narrow(d, 0, self.count).copy_(self.view)
                self.data = grown
            self.data.narrow(d, self.count, n).copy_(new)
            self.count += n
            return self.view
        for i in range(n):
            slot = self.reserve(new)
            self.data.narrow(d, slot, 1).copy_(new.narrow(d, i, 1))
        return self.view

    def reserve(self, like: torch.Tensor) -> int:
        """A ring's slot for one new frame shaped like `like` (one frame along dim), counted as
        appended: the caller writes it (nn/fast.py writes it in place)."""
        if self.data is None:
            self.data = like.new_zeros(self._shape(like, self.keep))
        slot = self.count % self.keep
        self.count += 1
        if self.filled is not None:
            self.filled = (self.filled + 1).clamp(max=self.keep)
            if bool((self.filled == self.keep).all()):
                self.filled = None
        return slot

    @classmethod
    def joined(cls, bands: list["Band"]) -> "Band":
        """One band of every band's rows (dim 0), in time order, newest frames aligned; rows with
        fewer frames than the longest are padded in front and marked by `filled`."""
        first = bands[0]
        if first.keep is None:
            if len({b.count for b in bands}) > 1:
                raise ValueError("unbounded bands of different lengths cannot be joined")
            band = cls(None, first.dim)
            band.append(torch.cat([b.view for b in bands], 0))
            return band
        length = max(b.length for b in bands)
        parts, filled = [], []
        for b in bands:
            frames = b.ordered()
            if frames.shape[first.dim] < length:
                pad = list(frames.shape)
                pad[first.dim] = length - frames.shape[first.dim]
                frames = torch.cat([frames.new_zeros(pad), frames], first.dim)
            parts.append(frames)
            filled.append(torch.full((frames.shape[0],), b.length) if b.filled is None else b.filled)
        band = cls(first.keep, first.dim)
        band.data, band.count = torch.cat(parts, 0), length
        if length < first.keep:  # a ring not yet full grows from slot `length` on: make it whole
            pad = list(band.data.shape)
            pad[first.dim] = first.keep - length
            band.data = torch.cat([band.data, band.data.new_zeros(pad)], first.dim)
        filled = torch.cat(filled)
        band.filled = None if bool((filled == length).all()) else filled
        return band

    def rows(self, index: torch.Tensor) -> "Band":
        """The same band with only the given rows (dim 0)."""
        band = Band(self.keep, self.dim)
        band.data, band.count = self.data[index], self.count
        band.filled = None if self.filled is None else self.filled[index]
        if band.filled is not None and bool((band.filled == band.length).all()):
            band.filled = None
        return band

    def _shape(self, new: torch.Tensor, frames: int) -> list[int]:
        shape = list(new.shape)
        shape[self.dim] = frames
        return shape


def band_bias(band: Band, position: "RelativeBias | None") -> torch.Tensor | None:
    """The additive attention bias for one query frame against `band`: the offset bias by age."""
    bias = None if position is None else position.for_step(band.ages(), band.age_key)
    return mask_unfilled(bias, band.invalid())


def mask_unfilled(bias: torch.Tensor | None, invalid: torch.Tensor | None) -> torch.Tensor | None:
    """bias (H, 1, n) or None, with -inf added at slots a row has not filled (invalid (rows, n):
    Band.invalid), then (rows, H, 1, n); None if neither."""
    if invalid is None:
        return bias
    mask = torch.zeros(invalid.shape[0], 1, 1, invalid.shape[1]).masked_fill(invalid[:, None, None], float("-inf"))
    return mask if bias is None else mask + bias


@dataclass
class AttentionCache:
    """Keys and values (B, H, n, C / H) of the frames within the band."""

    keys: Band | None = None
    values: Band | None = None

    @property
    def k(self) -> torch.Tensor | None:
        return None if self.keys is None else self.keys.view

    @property
    def v(self) -> torch.Tensor | None:
        return None if self.values is None else self.values.view

    def open(self, context: int | None) -> None:
        """The key and value rings of a stream's first step: the band, or every frame (None)."""
        if self.keys is None:
            keep = None if context is None else context + 1
            self.keys, self.values = Band(keep, 2), Band(keep, 2)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Attention for a few query frames against a cached band: q (..., n_q, D), k and v (..., n, D),
    bias broadcastable to (..., n_q, n). Scaling q, not k (as SDPA's CPU path does), keeps a step
    from touching the whole band one more time."""
    scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-1, -2)
    if bias is not None:
        scores = scores + bias
    return scores.softmax(-1) @ v


@dataclass
class BlockState:
    conv: torch.Tensor | None = None  # the convolution's last kernel - 1 inputs (B, kernel - 1, C)
    attn: AttentionCache = field(default_factory=AttentionCache)


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


def keep_last(cache: torch.Tensor | None, new: torch.Tensor, keep: int | None, dim: int) -> torch.Tensor:
    """Append `new` to `cache` along dim and keep at most the last `keep` entries."""
    out = new if cache is None else torch.cat([cache, new], dim)
    return out if keep is None or out.shape[dim] <= keep else out.narrow(dim, out.shape[dim] - keep, keep)


class CausalConv(nn.Module):
    """Depthwise 1-d convolution over time that sees only the current and past frames."""

    def __init__(self, width: int, kernel: int = 3) -> None:
        super().__init__()
        self.kernel = kernel
        self.conv = nn.Conv1d(width, width, kernel, groups=width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        y = F.pad(x.transpose(1, 2), (self.kernel - 1, 0))
        return self.conv(y).transpose(1, 2)

    def step(self, x: torch.Tensor, state: BlockState) -> torch.Tensor:  # x (B, 1, C)
        past = state.conv
        if past is None:
            past = x.new_zeros(x.shape[0], self.kernel - 1, x.shape[2])
        window = torch.cat([past, x], 1)  # (B, kernel, C)
        state.conv = window[:, 1:]
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

    def step(self, x: torch.Tensor, cache: AttentionCache, context: int | None) -> torch.Tensor:
        """One new frame (B, 1, C) attending to itself and the cached frames within the band."""
        b, _, c = x.shape
        q, k, v = self.qkv(x).view(b, 1, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        cache.open(context)
        k, v = cache.keys.append(k), cache.values.append(v)
        y = attend(q, k, v, band_bias(cache.keys, self.position))
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

    def step(self, x: torch.Tensor, state: BlockState, context: int | None) -> torch.Tensor:
        if context is not None and fast.enabled(x):
            return fast.block_step(self, x, state, context)
        x = x + self.conv.step(self.conv_norm(x), state)
        x = x + self.attn.step(self.attn_norm(x), state.attn, context)
        up, act, down, _ = self.mlp  # no dropout call: a step is inference
        return x + down(act(up(self.mlp_norm(x))))


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

    def new_state(self) -> list[BlockState]:
        return [BlockState() for _ in self.blocks]

    def step(self, x: torch.Tensor, state: list[BlockState]) -> torch.Tensor:
        """(B, 1, in_dim) -> (B, 1, out_dim) for the next frame; `state` (new_state()) carries the past."""
        h = self.inp(x)
        for block, block_state in zip(self.blocks, state):
            h = block.step(h, block_state, self.context)
        return self.outp(self.norm(h))
