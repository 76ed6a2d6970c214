"""A stream's attention keys and values over its last `keep` frames, as named tensors (the
streaming contract: nn/streaming.py):

    {"keys": (rows, H, keep, D), "values": (rows, H, keep, D), "frames": (rows,) int64}

Each row is a stream of its own: frame f of row r lies in slot f % keep, `frames[r]` counts the
frames it has appended. An append overwrites the oldest slot, so a step copies one frame, and once
full the ring is the whole storage: contiguous, so attention reads it in place. (A sliding window
copied the band every frame, or left a strided view that every matrix product copied again:
together more than a third of a batched generation step.) The slots are then out of time order;
attention, blind to key order but for its offset bias, reads the bias by each slot's age (frames
back from the row's newest). Rows of different ages share one storage (conversations that
started at different times), and a row that has appended fewer frames than the slots in use masks
the slots it has not filled, so a conversation starts over by setting its count to 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from facereact.nn import fast
from facereact.nn.position import RelativeBias
from facereact.nn.streaming import State

_AGES: dict[tuple[int, int, int], torch.Tensor] = {}  # (keep, length, phase) -> ages
_AGES_KEPT = 8192


def new_ring(rows: int, heads: int, keep: int, dim: int) -> State:
    """An empty ring: no frames appended in any row."""
    return {"keys": torch.zeros(rows, heads, keep, dim), "values": torch.zeros(rows, heads, keep, dim),
            "frames": torch.zeros(rows, dtype=torch.long)}


@dataclass(frozen=True)
class Span:
    """Which slots of a ring are in use after a step: every row's frames lie in the first `length`
    slots; `low` and `high` are the fewest and most frames of any row."""

    keep: int
    low: int
    high: int

    @property
    def length(self) -> int:
        return min(self.high, self.keep)

    @property
    def uniform(self) -> bool:
        """Every row has the same frames, so one set of ages serves all."""
        return self.low == self.high

    @property
    def age_key(self) -> tuple[int, int]:
        """What determines a uniform ring's ages: its length and, once it has wrapped, its next slot."""
        return self.length, self.high % self.keep if self.high > self.keep else -1


def span(ring: State, keep: int) -> Span:
    frames = ring["frames"].numpy()
    return Span(keep, int(frames.min()), int(frames.max()))


def advance(ring: State, keep: int, rows: np.ndarray | None = None) -> tuple[int | np.ndarray, Span]:
    """Count one new frame for every row (or for `rows`); the slot each writes (an int when all
    write the same one) and the ring's span after."""
    frames = ring["frames"].numpy()
    if rows is None:
        low, high = int(frames.min()), int(frames.max())
        slot = low % keep if low == high else frames % keep
        frames += 1
        return slot, Span(keep, low + 1, high + 1)
    if fast.enabled(ring["keys"]):
        slot = np.empty(len(rows), np.int64)
        low, high = fast.advance_rows(frames, rows, keep, slot)
    else:  # the torch path needs no compiler (rows are distinct)
        slot = frames[rows] % keep
        frames[rows] += 1
        low, high = frames.min(), frames.max()
    return slot, Span(keep, int(low), int(high))


def write(data: torch.Tensor, new: torch.Tensor, slot: int | np.ndarray, rows: np.ndarray | None = None) -> None:
    """new (R, H, 1, D), one frame per row (all, or `rows`), into its slot of data (S, H, keep, D)."""
    if isinstance(slot, int):  # every row writes the same slot: all rows step (advance)
        data[:, :, slot] = new[:, :, 0]
        return
    rows = fast.series(data.shape[0]) if rows is None else rows
    if fast.enabled(new):  # one compiled call
        fast.write_slots(data.numpy(), rows, slot, new.contiguous().numpy())
    else:
        data[torch.from_numpy(rows), :, torch.from_numpy(slot)] = new[:, :, 0]


def append(ring: State, keep: int, k: torch.Tensor, v: torch.Tensor, rows: np.ndarray | None = None) -> Span:
    """One new frame of keys and values (R, H, 1, D) for every row (or `rows`); the span after."""
    slot, after = advance(ring, keep, rows)
    write(ring["keys"], k, slot, rows)
    write(ring["values"], v, slot, rows)
    return after


def ages(extent: Span) -> torch.Tensor:
    """(length,) frames between each slot and the newest (0: the newest), every row's the same (a
    uniform ring)."""
    key = (extent.keep, *extent.age_key)
    got = _AGES.get(key)
    if got is None:  # a ring has at most 2 * keep distinct patterns: computed once each
        with torch.inference_mode(False):  # a plain tensor, usable under autograd too
            slots = torch.arange(extent.length)
            got = extent.length - 1 - slots if extent.high <= extent.keep \
                else ((extent.high - 1) % extent.keep - slots) % extent.keep
        if len(_AGES) > _AGES_KEPT:
            _AGES.clear()
        _AGES[key] = got
    return got


def row_ages(ring: State, extent: Span, rows: np.ndarray | None = None) -> torch.Tensor:
    """(rows, length) each slot's age in each row's own stream (all rows, or the given ones); a
    slot a row has not filled gets an age of at least that row's frame count."""
    frames = ring["frames"] if rows is None else ring["frames"][torch.from_numpy(rows)]
    newest = (frames - 1) % extent.keep
    return (newest[:, None] - torch.arange(extent.length)[None, :]) % extent.keep


def unfilled(ring: State, extent: Span, rows: np.ndarray | None = None) -> torch.Tensor | None:
    """(rows, length) True at slots a row has not filled; None when every row's are all filled."""
    if rows is None and extent.low >= extent.length:
        return None
    frames = ring["frames"] if rows is None else ring["frames"][torch.from_numpy(rows)]
    if int(frames.min()) >= extent.length:
        return None
    return row_ages(ring, extent, rows) >= frames[:, None]


def ordered(ring: State, name: str, keep: int) -> torch.Tensor:
    """ring[name]'s frames oldest first, row by row, each row's newest in the last slot (its
    unfilled slots, if any, first)."""
    data, extent = ring[name], span(ring, keep)
    newest = (ring["frames"] - 1) % keep
    slots = (newest[:, None] - torch.arange(extent.length - 1, -1, -1)[None, :]) % keep  # (rows, length)
    index = slots[:, None, :, None].expand(data.shape[0], data.shape[1], extent.length, data.shape[3])
    return torch.gather(data, 2, index)


def bias(ring: State, extent: Span, position: RelativeBias | None,
         rows: np.ndarray | None = None) -> torch.Tensor | None:
    """The additive attention bias for one query frame per row (all, or `rows`) against the ring:
    the offset bias by age, (H, 1, n) when every row's ages agree, else (rows, H, 1, n), with
    -inf at slots a row has not filled; None if neither applies."""
    if extent.uniform and rows is None:
        offsets = None if position is None else position.for_step(ages(extent), extent.age_key)
        return _mask_unfilled(offsets, unfilled(ring, extent))
    offsets = None if position is None else position(row_ages(ring, extent, rows)).transpose(0, 1)[:, :, None]
    return _mask_unfilled(offsets, unfilled(ring, extent, rows))


def _mask_unfilled(offsets: torch.Tensor | None, invalid: torch.Tensor | None) -> torch.Tensor | None:
    if invalid is None:
        return offsets
    mask = torch.zeros(invalid.shape[0], 1, 1, invalid.shape[1]).masked_fill(invalid[:, None, None], float("-inf"))
    return mask if offsets is None else mask + offsets
