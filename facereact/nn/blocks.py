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

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facereact.errors import UsageError
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

    Each row (dim 0) is a stream of its own with its own frame count (`counts`): frame f of row r
    lies in slot f % keep. So rows of different ages share one storage (conversations that started
    at different times: generator/cohort.py), joining bands is concatenating their rows, and a step
    may advance only some rows (`reserve(rows=...)`: conversations whose frame has come), the others
    left exactly as they were. A row that has appended fewer than `length` frames masks the slots it
    has not filled (`invalid()`). `keep=None` keeps every frame, in order, in a storage that doubles
    (one count for all rows)."""

    def __init__(self, keep: int | None, dim: int) -> None:
        self.keep, self.dim = keep, dim
        self.data: torch.Tensor | None = None
        self.count = 0  # frames appended to the row with the most
        self.counts: np.ndarray | None = None  # (rows,) int64 frames appended per row (rings)
        self._same = True  # every row's count is `count` (kept, not checked every frame)

    @property
    def length(self) -> int:
        """Slots in use: every row's frames lie in the first `length` slots."""
        return self.count if self.keep is None else min(self.count, self.keep)

    @property
    def view(self) -> torch.Tensor | None:
        """The band's slots (all of the storage once a ring is full)."""
        if self.data is None:
            return None
        return self.data if self.length == self.data.shape[self.dim] else self.data.narrow(self.dim, 0, self.length)

    @property
    def uniform(self) -> bool:
        """Whether every row has appended the same number of frames (one set of ages for all)."""
        return self._same

    @property
    def age_key(self) -> tuple[int, int]:
        """What determines ages() of a uniform band: the length and, once a ring has wrapped, its next slot."""
        wrapped = self.keep is not None and self.count > self.keep
        return self.length, self.count % self.keep if wrapped else -1

    def ages(self) -> torch.Tensor:
        """(length,) frames between each slot and the newest frame (0: the newest), every row's
        the same (a uniform band; row_ages() for any)."""
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

    def row_ages(self, rows: np.ndarray | None = None) -> torch.Tensor:
        """(rows, length) each slot's age in each row's own stream (all rows, or the given ones);
        a slot a row has not filled gets an age of at least that row's frame count."""
        counts = torch.from_numpy(self.counts if rows is None else self.counts[rows])
        newest = (counts - 1) % self.keep
        return (newest[:, None] - torch.arange(self.length)[None, :]) % self.keep

    def invalid(self, rows: np.ndarray | None = None) -> torch.Tensor | None:
        """(rows, length) True at slots a row has not filled; None when every row's are all filled."""
        if self.keep is None or self.counts is None:
            return None
        counts = self.counts if rows is None else self.counts[rows]
        if int(counts.min()) >= self.length:
            return None
        return self.row_ages(rows) >= torch.from_numpy(counts)[:, None]

    def ordered(self) -> torch.Tensor | None:
        """The band's frames oldest first, row by row, each row's newest in the last slot (its
        unfilled slots, if any, first)."""
        if self.keep is None or self.data is None:
            return self.view
        newest = torch.from_numpy((self.counts - 1) % self.keep)
        slots = (newest[:, None] - torch.arange(self.length - 1, -1, -1)[None, :]) % self.keep  # (rows, length)
        shape = [1] * self.data.dim()
        shape[0], shape[self.dim] = slots.shape
        index = slots.view(shape).expand(*self.data.shape[:self.dim], self.length, *self.data.shape[self.dim + 1:])
        return torch.gather(self.data, self.dim, index)

    def append(self, new: torch.Tensor, rows: np.ndarray | None = None) -> torch.Tensor:
        """Add `new`'s frames (one per row of `rows` for a subset); the band (self.view)."""
        d, n = self.dim, new.shape[self.dim]
        if self.keep is None:
            if rows is not None:
                raise ValueError("an unbounded band steps all its rows together")
            if self.data is None or self.count + n > self.data.shape[d]:
                grown = new.new_empty(self._shape(new, 2 * (self.count + n)))
                if self.data is not None:
                    grown.narrow(d, 0, self.count).copy_(self.view)
                self.data = grown
            self.data.narrow(d, self.count, n).copy_(new)
            self.count += n
            return self.view
        for i in range(n):
            frame = new.narrow(d, i, 1)
            slot = self.reserve(frame, rows)
            if isinstance(slot, int):
                self.data.narrow(d, slot, 1).copy_(frame)
                continue
            # each row its own slot
            rows_ = fast.series(self.data.shape[0]) if rows is None else rows
            if d == 2 and self.data.dim() == 4 and fast.enabled(frame):  # a key/value ring: one compiled call
                fast.write_slots(self.data.numpy(), rows_, slot, frame.contiguous().numpy())
            else:
                self.data.movedim(d, 1)[torch.from_numpy(rows_), torch.from_numpy(slot)] = frame.movedim(d, 1)[:, 0]
        return self.view

    def reserve(self, like: torch.Tensor, rows: np.ndarray | None = None) -> int | np.ndarray:
        """A ring's slot for one new frame of every row (or of `rows`, like: shaped as one frame of
        them), counted as appended: the caller writes it (nn/fast.py writes it in place). The slot
        is an int when every row writes the same one, else one per row written."""
        if self.data is None:
            if rows is not None:
                raise ValueError("a band's first frame is appended to every row")
            self.data = like.new_zeros(self._shape(like, self.keep))
            self.counts = np.zeros(like.shape[0], np.int64)
        if rows is None:
            slot = self.count % self.keep if self.uniform else self.counts % self.keep
            self.counts += 1
            self.count += 1
            return slot
        if fast.enabled(like):
            slot = np.empty(len(rows), np.int64)
            low, high = fast.advance_rows(self.counts, rows, self.keep, slot)
        else:  # the torch path needs no compiler (rows are distinct)
            slot = self.counts[rows] % self.keep
            self.counts[rows] += 1
            low, high = self.counts.min(), self.counts.max()
        self.count, self._same = int(high), low == high
        return slot

    @classmethod
    def joined(cls, bands: list["Band"]) -> "Band":
        """One band of every band's rows (dim 0), each row keeping its own frames and count."""
        first = bands[0]
        if first.keep is None:
            if len({b.count for b in bands}) > 1:
                raise ValueError("unbounded bands of different lengths cannot be joined")
            band = cls(None, first.dim)
            band.append(torch.cat([b.view for b in bands], 0))
            return band
        band = cls(first.keep, first.dim)
        band.data = torch.cat([b.data for b in bands], 0)
        band._set_counts(np.concatenate([b.counts for b in bands]))
        return band

    def put(self, rows: np.ndarray, source: "Band") -> None:
        """Overwrite rows `rows` (int64) with every row of `source`, frames and counts, in place:
        the rest of the storage is neither copied nor moved."""
        if self.keep is None or source.keep != self.keep or source.data is None or self.data is None:
            raise ValueError("only started rings of the same band take rows of one another")
        self.data[torch.from_numpy(rows)] = source.data
        self.counts[rows] = source.counts
        self._set_counts(self.counts)

    def restart(self, rows: np.ndarray) -> None:
        """Rows `rows` (int64) start over as empty streams (count 0), in place: their old frames
        stay in the storage but are masked as unfilled (`invalid()`) and overwritten as the new
        stream appends."""
        if self.keep is None or self.data is None:
            raise ValueError("only started rings restart rows")
        self.counts[rows] = 0
        self._set_counts(self.counts)

    def rows(self, index: torch.Tensor) -> "Band":
        """The same band with only the given rows (dim 0)."""
        band = Band(self.keep, self.dim)
        band.data = self.data[index]
        if self.counts is None:
            band.count = self.count
        else:
            band._set_counts(self.counts[np.asarray(index)])
        return band

    def _set_counts(self, counts: np.ndarray) -> None:
        self.counts, self.count = counts, int(counts.max())
        self._same = int(counts.min()) == self.count

    def _shape(self, new: torch.Tensor, frames: int) -> list[int]:
        shape = list(new.shape)
        shape[self.dim] = frames
        return shape


def band_bias(band: Band, position: "RelativeBias | None", rows: np.ndarray | None = None) -> torch.Tensor | None:
    """The additive attention bias for one query frame per row (all, or `rows`) against `band`:
    the offset bias by age, (H, 1, n) when every row's ages agree, else (rows, H, 1, n)."""
    if band.uniform and rows is None:
        bias = None if position is None else position.for_step(band.ages(), band.age_key)
        return mask_unfilled(bias, band.invalid())
    bias = None if position is None else position(band.row_ages(rows)).transpose(0, 1)[:, :, None]
    return mask_unfilled(bias, band.invalid(rows))


def mask_unfilled(bias: torch.Tensor | None, invalid: torch.Tensor | None) -> torch.Tensor | None:
    """bias (H, 1, n), (rows, H, 1, n) or None, with -inf added at slots a row has not filled
    (invalid (rows, n): Band.invalid), then (rows, H, 1, n); None if neither."""
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


class CausalConv(nn.Module):
    """Depthwise 1-d convolution over time that sees only the current and past frames."""

    def __init__(self, width: int, kernel: int = 3) -> None:
        super().__init__()
        self.kernel = kernel
        self.conv = nn.Conv1d(width, width, kernel, groups=width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        y = F.pad(x.transpose(1, 2), (self.kernel - 1, 0))
        return self.conv(y).transpose(1, 2)

    def step(self, x: torch.Tensor, state: BlockState, rows: np.ndarray | None = None) -> torch.Tensor:
        """x (B, 1, C): the next frame of every row of the state, or of `rows` only."""
        past = state.conv
        if past is None:
            if rows is not None:
                raise ValueError("a stream's first frame is stepped on every row")
            past = x.new_zeros(x.shape[0], self.kernel - 1, x.shape[2])
        window = torch.cat([past if rows is None else past[torch.from_numpy(rows)], x], 1)  # (B, kernel, C)
        if rows is None:
            state.conv = window[:, 1:]
        else:
            state.conv[torch.from_numpy(rows)] = window[:, 1:]
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

    def step(self, x: torch.Tensor, cache: AttentionCache, context: int | None,
             rows: np.ndarray | None = None) -> torch.Tensor:
        """One new frame (B, 1, C) attending to itself and the cached frames within the band, for
        every row of the cache or for `rows` of it."""
        b, _, c = x.shape
        q, k, v = self.qkv(x).view(b, 1, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        cache.open(context)
        k, v = cache.keys.append(k, rows), cache.values.append(v, rows)
        if rows is not None:
            k, v = k[torch.from_numpy(rows)], v[torch.from_numpy(rows)]
        y = attend(q, k, v, band_bias(cache.keys, self.position, rows))
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

    def step(self, x: torch.Tensor, state: BlockState, context: int | None,
             rows: np.ndarray | None = None) -> torch.Tensor:
        """The next frame x (B, 1, C) of every row of `state`, or of `rows` of it (the others keep
        their past as it is)."""
        if context is not None and fast.enabled(x):
            return fast.block_step(self, x, state, context, rows)
        x = x + self.conv.step(self.conv_norm(x), state, rows)
        x = x + self.attn.step(self.attn_norm(x), state.attn, context, rows)
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

    def step(self, x: torch.Tensor, state: list[BlockState], rows: np.ndarray | None = None) -> torch.Tensor:
        """(B, 1, in_dim) -> (B, 1, out_dim) for the next frame; `state` (new_state()) carries the
        past; rows: which of its rows these B frames belong to (None: all)."""
        h = self.inp(x)
        for block, block_state in zip(self.blocks, state):
            h = block.step(h, block_state, self.context, rows)
        return self.outp(self.norm(h))
