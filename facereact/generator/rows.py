"""Rows of a batched stream state, whatever its shape: every state tensor is clip-major (its rows
conversation after conversation, the same number for each), so one walker over the state's
tensors, key/value rings (Band), reader states and dataclasses joins conversations
(`join_rows`), takes some out (`take_rows`), writes some into slots (`place_rows`) and starts some
over empty (`restart_rows`: rings emptied, convolution pasts zeroed, the emotion reader's last
face unknown). Used by live batches (generator/cohort.py) and by a session for the conversations
that step (generator/session.py).
"""
from __future__ import annotations

from dataclasses import fields, is_dataclass

import numpy as np
import torch

from facereact.nn.blocks import Band
from facereact.tokenizer.emotion import MotionState


def conversation_rows(conversations: np.ndarray, per: int) -> np.ndarray:
    """The rows of the given conversations in a clip-major state of `per` rows each (int64)."""
    return (np.asarray(conversations, np.int64)[:, None] * per + np.arange(per)).reshape(-1)


def restart_rows(state, slots: torch.Tensor, total: int):
    """`state` (of `total` conversations) with the conversations at `slots` started over empty."""
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    if isinstance(state, MotionState):  # its last face unknown until the first frame (NaN: no change then)
        if state.changes is None:
            return state
        face, changes = (_blank(x, slots, total, value) for x, value in ((state.face, float("nan")),
                                                                         (state.changes, 0.0)))
        return MotionState(face, changes, True)
    if isinstance(state, torch.Tensor):  # convolution pasts: a new stream's are zeros
        return _blank(state, slots, total, 0.0)
    if isinstance(state, Band):  # the rows' counts to 0: their old frames are masked, then overwritten
        state.restart(conversation_rows(slots.numpy(), state.data.shape[0] // total))
        return state
    if is_dataclass(state):
        for f in fields(state):
            setattr(state, f.name, restart_rows(getattr(state, f.name), slots, total))
        return state
    if isinstance(state, list):
        state[:] = [restart_rows(s, slots, total) for s in state]
        return state
    if isinstance(state, tuple):
        return type(state)(restart_rows(s, slots, total) for s in state)
    raise TypeError(f"cannot restart stream state of type {type(state).__name__}")


def _blank(x: torch.Tensor, slots: torch.Tensor, total: int, value: float) -> torch.Tensor:
    """A copy of x (rows clip-major, `total` conversations) with the conversations at `slots` set to value."""
    out = x.clone()
    out.view(total, x.shape[0] // total, *x.shape[1:])[slots] = value
    return out


def join_rows(parts: list):
    """One state of every part's conversations, in order (each state tensor concatenated)."""
    first = parts[0]
    if first is None or isinstance(first, (bool, int, float, str)):
        return first
    if isinstance(first, torch.Tensor):
        return torch.cat(parts, 0)
    if isinstance(first, Band):  # every row keeps its own ring and count
        return Band.joined(parts)
    if isinstance(first, MotionState):  # a reader that is not used (no emotion read off the face) has no rows
        if first.changes is None:
            return MotionState()
        return MotionState(torch.cat([p.face for p in parts]), torch.cat([p.changes for p in parts]),
                           any(p.restarted for p in parts))
    if is_dataclass(first):
        return type(first)(**{f.name: join_rows([getattr(p, f.name) for p in parts]) for f in fields(first)})
    if isinstance(first, (list, tuple)):
        return type(first)(join_rows([p[i] for p in parts]) for i in range(len(first)))
    raise TypeError(f"cannot merge stream state of type {type(first).__name__}")


def take_rows(state, keep: torch.Tensor, total: int):
    """Rows of the conversations `keep` (indices) out of `total` conversations."""
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    if isinstance(state, torch.Tensor):
        per = state.shape[0] // total
        return state.reshape(total, per, *state.shape[1:])[keep].reshape(len(keep) * per, *state.shape[1:])
    if isinstance(state, Band):  # the same ring, fewer rows
        return state.rows(torch.from_numpy(conversation_rows(keep.numpy(), state.data.shape[0] // total)))
    if is_dataclass(state):
        return type(state)(**{f.name: take_rows(getattr(state, f.name), keep, total) for f in fields(state)})
    if isinstance(state, (list, tuple)):
        return type(state)(take_rows(s, keep, total) for s in state)
    raise TypeError(f"cannot split stream state of type {type(state).__name__}")


def place_rows(target, source, slots: torch.Tensor, total: int):
    """`target` (of `total` conversations) with `source`'s conversations written at `slots`."""
    if target is None or isinstance(target, (bool, int, float, str)):
        return target
    if isinstance(target, torch.Tensor):  # small (convolution pasts, last tokens): a copy, as a frame
        per = target.shape[0] // total   # already returned may share the old one's memory
        out = target.reshape(total, per, *target.shape[1:]).clone()
        out[slots] = source.reshape(len(slots), per, *source.shape[1:])
        return out.reshape(target.shape)
    if isinstance(target, Band):  # the key/value rings, most of a state: written in place
        target.put(conversation_rows(slots.numpy(), target.data.shape[0] // total), source)
        return target
    if is_dataclass(target):  # an unused reader's MotionState too: its None fields stay None
        for f in fields(target):
            setattr(target, f.name, place_rows(getattr(target, f.name), getattr(source, f.name), slots, total))
        return target
    if isinstance(target, list):
        target[:] = [place_rows(t, s, slots, total) for t, s in zip(target, source)]
        return target
    if isinstance(target, tuple):
        return type(target)(place_rows(t, s, slots, total) for t, s in zip(target, source))
    raise TypeError(f"cannot place stream state of type {type(target).__name__}")
