"""Conversations of a batched stream state started over in place: their rows of every ring emptied,
convolution pasts zeroed, the emotion reader's last face unknown. Used where a conversation takes a
live batch's free slot (generator/cohort.py) and where a speaker's face reappears and the face
encoder and reader start its stream over (generator/session.py)."""
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
