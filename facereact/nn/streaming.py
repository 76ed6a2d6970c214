"""The streaming contract: every module that runs one frame at a time keeps its past as named
tensors, and one set of functions moves conversations between such states.

A module that streams declares

    init_state(rows, ...) -> State        # a new stream's state for `rows` rows
    step(x, state, ..., rows=None) -> y    # the next frame of every row, or of `rows` only

A `State` is a dict of named tensors (and of the states of the module's parts, nested: a dict
or a list of States), every tensor's dim 0 its rows. Rows are clip-major: conversation after
conversation, the same number for each (one for a speaker layer, K or 2K for a listener layer).
A step reads and advances the state's tensors in place (a key/value ring copies its one new frame
a step; copying the ring every frame cost a third of a batched step), and a row it is not given
is left exactly as it was, so conversations whose frame has not come simply wait.

Because every state is only that, one walker serves every module, present and future: `join`
concatenates conversations, `take` selects some, `place` writes some into slots (in place) and a
conversation starts over by placing a new one's initial state in its slot. A new streaming module
needs no edit here, nor in the batching of live conversations (generator/cohort.py).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

State = dict  # str -> torch.Tensor | State | list[State] | None


def conversation_rows(conversations: np.ndarray, per: int) -> np.ndarray:
    """The rows of the given conversations in a clip-major state of `per` rows each (int64)."""
    return (np.asarray(conversations, np.int64)[:, None] * per + np.arange(per)).reshape(-1)


def _walk(fn: Callable, first, *others):
    """fn applied to every tensor of `first` and the tensors in the same place in `others`, in a
    State of the same nesting; None stays None."""
    if first is None:
        return None
    if isinstance(first, torch.Tensor):
        return fn(first, *others)
    if isinstance(first, dict):
        return {name: _walk(fn, value, *(o[name] for o in others)) for name, value in first.items()}
    if isinstance(first, list):
        return [_walk(fn, value, *(o[i] for o in others)) for i, value in enumerate(first)]
    raise TypeError(f"a stream state holds tensors, dicts and lists, not {type(first).__name__}")


def join(parts: list) -> State:
    """One state of every part's conversations, in order."""
    return _walk(lambda *xs: torch.cat(xs, 0), *parts)


def take(state, keep: torch.Tensor, total: int) -> State:
    """A new state of the conversations `keep` (indices) out of `total`, in that order."""
    def rows(x: torch.Tensor) -> torch.Tensor:
        per = x.shape[0] // total
        return x.reshape(total, per, *x.shape[1:])[keep].reshape(len(keep) * per, *x.shape[1:])
    return _walk(rows, state)


def place(target, source, slots: torch.Tensor, total: int) -> State:
    """`source`'s conversations written into `target`'s conversation slots `slots` (of `total`), in
    place: the rest of the storage is neither copied nor moved. Returns target."""
    listed = slots.tolist()
    # one run of slots (a conversation starting over) as a slice: a copy, half the cost of indexing
    index = slice(listed[0], listed[0] + len(listed)) if listed == list(range(listed[0], listed[0] + len(listed))) \
        else slots

    def write(x: torch.Tensor, new: torch.Tensor) -> None:
        per = x.shape[0] // total
        x.view(total, per, *x.shape[1:])[index] = new.reshape(len(listed), per, *x.shape[1:])
    _walk(write, target, source)
    return target
