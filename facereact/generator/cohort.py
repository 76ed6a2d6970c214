"""Many conversations in one batch: streaming sessions merged into one, and taken apart again.

A StreamingSession over several seeds already is a batch of conversations, and every tensor of its
state is clip-major: its rows are conversation after conversation, the same number for each (one
for the speaker's layers, K or 2K for the listener's). So merging sessions concatenates each state
tensor, and taking conversations out selects their blocks of rows, whatever the state's shape.

Conversations of any age share a forward pass: a step attends over each key/value band with a
position bias read by each slot's age, and a band joined from younger and older conversations
masks the slots a younger one has not filled (nn/blocks.py, Band). So a conversation's frames in a
merged session equal its solo frames up to the float rounding of batched matrix products, and it
keeps drawing from its own seeded generator. A session joins once it has stepped one frame (its
stream states exist).

A conversation whose frame is late for a step need not leave: `hold` keeps its rows as they are
while the others step, and `put_back` restores them, its rings turned one slot so that every
frame keeps its age (the step has aged every slot by one), its random stream untouched. That
copies its own rows only (saved, then written back turned); leaving and rejoining copied every
conversation's state.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass

import torch

from facereact.data.errors import UsageError
from facereact.generator.model import GeneratorState
from facereact.generator.session import StreamingSession
from facereact.nn.blocks import Band
from facereact.tokenizer.emotion import MotionState


def _derived(state, name: str) -> bool:
    """A generator state's cross-attention keys are views of its bands: rebuilt by _relink."""
    return isinstance(state, GeneratorState) and name == "cross" and state.cross_bands is not None


def _join(parts: list):
    first = parts[0]
    if first is None or isinstance(first, (bool, int, float, str)):
        return first
    if isinstance(first, torch.Tensor):
        return torch.cat(parts, 0)
    if isinstance(first, Band):  # rings turned differently, filled differently: joined in time order
        return Band.joined(parts)
    if isinstance(first, MotionState):  # recent changes, fewer for a younger stream: still before it
        if first.changes is None:  # a reader that is not used (no emotion read off the face)
            return MotionState()
        changes = [p.changes for p in parts]
        longest = max(c.shape[1] for c in changes)
        changes = [torch.cat([c.new_zeros(c.shape[0], longest - c.shape[1], c.shape[2]), c], 1) for c in changes]
        return MotionState(torch.cat([p.face for p in parts]), torch.cat(changes))
    if is_dataclass(first):
        return type(first)(**{f.name: None if _derived(first, f.name) else _join([getattr(p, f.name) for p in parts])
                              for f in fields(first)})
    if isinstance(first, (list, tuple)):
        return type(first)(_join([p[i] for p in parts]) for i in range(len(first)))
    raise TypeError(f"cannot merge stream state of type {type(first).__name__}")


def _rows(keep: torch.Tensor, total: int, rows: int) -> torch.Tensor:
    """The row indices of the conversations `keep` out of `total`, in a tensor of `rows` rows
    (clip-major: the same number per conversation)."""
    per = rows // total
    return (keep[:, None] * per + torch.arange(per)).reshape(-1)


def _take(state, keep: torch.Tensor, total: int):
    """Rows of the conversations `keep` (indices) out of `total` conversations."""
    if state is None or isinstance(state, (bool, int, float, str)):
        return state
    if isinstance(state, torch.Tensor):
        per = state.shape[0] // total
        return state.reshape(total, per, *state.shape[1:])[keep].reshape(len(keep) * per, *state.shape[1:])
    if isinstance(state, Band):  # the same ring, fewer rows
        return state.rows(_rows(keep, total, state.data.shape[0]))
    if is_dataclass(state):
        return type(state)(**{f.name: None if _derived(state, f.name) else _take(getattr(state, f.name), keep, total)
                              for f in fields(state)})
    if isinstance(state, (list, tuple)):
        return type(state)(_take(s, keep, total) for s in state)
    raise TypeError(f"cannot split stream state of type {type(state).__name__}")


# What a session holds per conversation (rows, clip-major), besides its seeds and generators.
_STATES = ("previous", "speaker_on", "state", "decode_state", "encode_state", "read_state")


def _relink(session: StreamingSession) -> None:
    """The generator's cross-attention keys are views of its bands: point them at the new bands."""
    state = session.state
    if state.cross_bands is not None:
        state.cross = [(k.view, v.view) for k, v in state.cross_bands]


def _session(base: StreamingSession, seeds: list[int], rngs: list[torch.Generator], inputs_seen: set[str],
             frame: int, states: dict) -> StreamingSession:
    """A session with `base`'s models and settings carrying the given conversations."""
    session = StreamingSession.__new__(StreamingSession)
    session.__dict__.update(base.__dict__)
    session.__dict__.update(states, seeds=seeds, clips=len(seeds), rngs=rngs, inputs_seen=inputs_seen, frame=frame)
    _relink(session)
    return session


def merge(sessions: list[StreamingSession]) -> StreamingSession:
    """One session carrying every conversation of `sessions`, in order. All must share models and
    sampling and have stepped at least one frame."""
    first = sessions[0]
    for s in sessions:
        if s.generator is not first.generator or s.tokenizer is not first.tokenizer:
            raise UsageError("sessions of different models cannot share a batch")
        if (s.samples, s.sampling, s.read_emotion) != (first.samples, first.sampling, first.read_emotion):
            raise UsageError("sessions with different K, sampling or emotion reading cannot share a batch")
    if any(s.frame < 1 for s in sessions):
        raise UsageError("a session joins a batch once it has stepped a frame (its stream states exist)")
    return _session(first, [seed for s in sessions for seed in s.seeds], [rng for s in sessions for rng in s.rngs],
                    set().union(*(s.inputs_seen for s in sessions)), max(s.frame for s in sessions),
                    {name: _join([getattr(s, name) for s in sessions]) for name in _STATES})


def take(session: StreamingSession, conversations: list[int]) -> StreamingSession:
    """A session carrying only the given conversations (indices into session.seeds), in that order;
    the original is left as it was."""
    total = session.clips
    if not conversations or any(not 0 <= c < total for c in conversations):
        raise UsageError(f"conversations must be indices below {total}, got {conversations}")
    keep = torch.tensor(conversations)
    return _session(session, [session.seeds[c] for c in conversations], [session.rngs[c] for c in conversations],
                    set(session.inputs_seen), session.frame,
                    {name: _take(getattr(session, name), keep, total) for name in _STATES})


# -- holding conversations through a step -------------------------------------------------------
def _save(state, keep: torch.Tensor, total: int):
    """The rows of the conversations `keep` in every tensor of `state`, copied."""
    if state is None or isinstance(state, (bool, int, float, str)):
        return None
    if isinstance(state, torch.Tensor):
        return state[_rows(keep, total, state.shape[0])]
    if isinstance(state, Band):
        if state.keep is None:
            raise UsageError("an unbounded band cannot be held through a step")
        index = _rows(keep, total, state.data.shape[0])
        filled = torch.full((len(index),), state.length) if state.filled is None else state.filled[index]
        return state.data[index], filled
    if isinstance(state, MotionState):
        return None if state.face is None else (_save(state.face, keep, total), _save(state.changes, keep, total))
    if is_dataclass(state):
        return {f.name: _save(getattr(state, f.name), keep, total) for f in fields(state)
                if not _derived(state, f.name)}
    if isinstance(state, (list, tuple)):
        return [_save(s, keep, total) for s in state]
    raise TypeError(f"cannot hold stream state of type {type(state).__name__}")


def _restore(state, saved, keep: torch.Tensor, total: int) -> None:
    """Write `saved` (from _save before a step) back into the stepped `state`, in place."""
    if saved is None:
        return
    if isinstance(state, torch.Tensor):
        state[_rows(keep, total, state.shape[0])] = saved
    elif isinstance(state, Band):
        data, filled = saved
        index = _rows(keep, total, state.data.shape[0])
        # The step aged every slot by one: slot s must now hold what slot s - 1 held.
        state.data[index] = torch.roll(data, 1, state.dim)
        rows = torch.full((state.data.shape[0],), state.length) if state.filled is None else state.filled.clone()
        rows[index] = filled
        state.filled = None if bool((rows == state.length).all()) else rows
    elif isinstance(state, MotionState):
        face, changes = saved
        _restore(state.face, face, keep, total)
        if changes is not None and changes.shape[1] < state.changes.shape[1]:  # its window grew: a still frame first
            changes = torch.cat([changes.new_zeros(changes.shape[0], 1, changes.shape[2]), changes], 1)
        _restore(state.changes, changes, keep, total)
    elif is_dataclass(state):
        for name, part in saved.items():
            _restore(getattr(state, name), part, keep, total)
    else:
        for s, part in zip(state, saved):
            _restore(s, part, keep, total)


@dataclass
class Held:
    conversations: list[int]
    saved: dict
    rngs: list[torch.Generator]


def hold(session: StreamingSession, conversations: list[int]) -> Held:
    """Before a step: keep these conversations (indices into session.seeds) as they are. They step
    with the others (give them any finite input), drawing from throwaway generators; `put_back`
    after the step undoes it for them."""
    keep = torch.tensor(conversations)
    held = Held(list(conversations), {name: _save(getattr(session, name), keep, session.clips) for name in _STATES},
                [session.rngs[c] for c in conversations])
    session.rngs = list(session.rngs)
    for c in conversations:
        session.rngs[c] = torch.Generator()
    return held


@torch.inference_mode()
def put_back(session: StreamingSession, held: Held) -> None:
    """After the step: the held conversations' states as they were before it, every frame of
    their past the same number of frames back, their own generators back."""
    keep = torch.tensor(held.conversations)
    for name, saved in held.saved.items():
        _restore(getattr(session, name), saved, keep, session.clips)
    for c, rng in zip(held.conversations, held.rngs):
        session.rngs[c] = rng
