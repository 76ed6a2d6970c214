"""Random fixed-length training windows of variable-length clips, the one way every task cuts them.

A window's start is a pure function of the item's seed (the trainer's per-item seed), so a resumed
run, or N processes, draw exactly the windows one uninterrupted process draws.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from facereact.errors import UsageError

T = TypeVar("T")


def long_enough(items: Sequence[T], length: Callable[[T], int], window: int) -> list[T]:
    """The items holding at least one window; none is an error (nothing to train on)."""
    kept = [item for item in items if length(item) >= window]
    if not kept:
        raise UsageError(f"no training clip has the {window} frames of one window")
    return kept


def windows_per_epoch(items: Sequence[T], length: Callable[[T], int], window: int) -> int:
    """An epoch draws as many windows as the clips hold end to end."""
    return sum(length(item) for item in items) // window


def draw_window(seed: int, length: int, window: int) -> tuple[slice, np.random.Generator]:
    """The window of a `length`-frame clip that `seed` picks, and the generator it was drawn with
    (tasks draw their per-window augmentations from it next)."""
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, length - window + 1))
    return slice(start, start + window), rng
