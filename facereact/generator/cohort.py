"""Many conversations in one batch: streaming sessions merged into one, and taken apart again.

A StreamingSession over several seeds already is a batch of conversations, and every tensor of its
table is clip-major: its rows are conversation after conversation, the same number for each (one
for the speaker's layers, K or 2K for the listener's). So merging sessions concatenates each
tensor, taking conversations out selects their blocks of rows, and placing a session's
conversations into free slots of a batch writes their blocks of rows, whatever the table holds
(nn/streaming.py does all of it).

Conversations of any age share a forward pass: every row of a key/value band is a ring of its
own with its own frame count, a step reads each slot's position bias by its age in that row and
masks the slots a younger row has not filled (nn/ring.py). So a conversation's frames in a
merged session equal its solo frames up to the float rounding of batched matrix products, and it
keeps drawing from its own seeded generator. A session joins once it has stepped one frame. A conversation whose frame is late for a step stays in the batch and is
simply not stepped (`StreamingSession.step_clips(active=...)`): nothing of it is computed or
copied.
"""
from __future__ import annotations

import torch

from facereact.errors import UsageError
from facereact.generator.personality import listener_rows
from facereact.generator.session import StreamingSession
from facereact.nn import streaming


def _check(first: StreamingSession, *others: StreamingSession) -> None:
    for s in others:
        if s.generator is not first.generator or s.tokenizer is not first.tokenizer:
            raise UsageError("sessions of different models cannot share a batch")
        if (s.samples, s.sampling, s.read_emotion, s.turn_taking) != \
                (first.samples, first.sampling, first.read_emotion, first.turn_taking):
            raise UsageError("sessions with different K, sampling, emotion reading or turn-taking cannot share a batch")


def merge(sessions: list[StreamingSession]) -> StreamingSession:
    """One session carrying every conversation of `sessions`, in order. All must share models and
    sampling and have stepped at least one frame."""
    first = sessions[0]
    _check(*sessions)
    if any(s.frame < 1 for s in sessions):
        raise UsageError("a session joins a batch once it has stepped a frame")
    return first.carrying([seed for s in sessions for seed in s.seeds], [rng for s in sessions for rng in s.rngs],
                          set().union(*(s.inputs_seen for s in sessions)), max(s.frame for s in sessions),
                          streaming.join([s.state for s in sessions]))


@torch.inference_mode()  # the table's tensors are written in place
def place(batch: StreamingSession, group: StreamingSession, slots: list[int]) -> StreamingSession:
    """Write `group`'s conversations into the batch's conversation slots `slots` (one each, in
    order; whatever they held is overwritten), changing `batch` itself: its tensors are written in
    place, so a conversation joining a batch with room costs its own rows, where merge copies
    every conversation's state (20-25 ms for 8 joining 24 at K = 1, the whole server's frames
    waiting meanwhile). Returns the batch."""
    _check(batch, group)
    if group.frame < 1:
        raise UsageError("a session joins a batch once it has stepped a frame")
    _check_slots(batch, slots, group.clips)
    streaming.place(batch.state, group.state, torch.tensor(slots), batch.clips)
    for i, slot in enumerate(slots):
        batch.seeds[slot], batch.rngs[slot] = group.seeds[i], group.rngs[i]
    batch.inputs_seen |= group.inputs_seen
    batch.frame = max(batch.frame, group.frame)
    return batch


@torch.inference_mode()
def restart(batch: StreamingSession, slots: list[int], seeds: list[int], personality=None) -> StreamingSession:
    """New conversations (one seed each, and a personality each or None: generator/personality.py)
    in the batch's conversation slots `slots`, changing `batch` itself: their rows of the table
    take a new session's (`new_state`: rings empty, convolution pasts zeros, the listener's last
    token BOS, its age 0) and a generator seeded afresh, so their first frame steps together with
    the other conversations' (`step_clips(active=...)`) and equals a solo session's first frame up
    to float rounding. No pass of their own and no copy of the others' state. Returns the batch."""
    _check_slots(batch, slots, len(seeds))
    if batch.frame < 1:
        raise UsageError("conversations restart in a batch that has stepped a frame")
    fresh = batch.new_state(len(slots), listener_rows(batch.generator, personality, len(slots)))
    streaming.place(batch.state, fresh, torch.tensor(slots), batch.clips)
    for slot, seed in zip(slots, seeds):
        batch.seeds[slot], batch.rngs[slot] = seed, torch.Generator().manual_seed(seed)
    return batch


def take(session: StreamingSession, conversations: list[int]) -> StreamingSession:
    """A session carrying only the given conversations (indices into session.seeds), in that order;
    the original is left as it was."""
    total = session.clips
    if not conversations or any(not 0 <= c < total for c in conversations):
        raise UsageError(f"conversations must be indices below {total}, got {conversations}")
    return session.carrying([session.seeds[c] for c in conversations], [session.rngs[c] for c in conversations],
                            set(session.inputs_seen), session.frame,
                            streaming.take(session.state, torch.tensor(conversations), total))


def _check_slots(batch: StreamingSession, slots: list[int], count: int) -> None:
    if len(slots) != count or len(set(slots)) != len(slots) or any(not 0 <= s < batch.clips for s in slots):
        raise UsageError(f"{count} conversations need as many distinct slots below {batch.clips}, got {slots}")
