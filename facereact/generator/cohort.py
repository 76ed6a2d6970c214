"""Many conversations in one batch: streaming sessions merged into one, and taken apart again.

A StreamingSession over several seeds already is a batch of conversations, and every tensor of its
state is clip-major: its rows are conversation after conversation, the same number for each (one
for the speaker's layers, K or 2K for the listener's). So merging sessions concatenates each state
tensor, taking conversations out selects their blocks of rows, and placing a session's
conversations into free slots of a batch writes their blocks of rows, whatever the state's shape.

Conversations of any age share a forward pass: every row of a key/value band is a ring of its
own with its own frame count, a step reads each slot's position bias by its age in that row and
masks the slots a younger row has not filled (nn/blocks.py, Band). So a conversation's frames in a
merged session equal its solo frames up to the float rounding of batched matrix products, and it
keeps drawing from its own seeded generator. A session joins once it has stepped one frame (its
stream states exist). A conversation whose frame is late for a step stays in the batch and is
simply not stepped (`StreamingSession.step_clips(active=...)`): nothing of it is computed or
copied.
"""
from __future__ import annotations

import numpy as np
import torch

from facereact.errors import UsageError
from facereact.generator.personality import listener_rows
from facereact.generator.rows import conversation_rows, join_rows, place_rows, restart_rows, take_rows
from facereact.generator.session import StreamingSession


_STATES = StreamingSession.STATES
# Started over by restart_rows; the others a new conversation sets itself: its last token is BOS,
# its age 0, its listener who it is told, and the guided rows' speaker pattern is the same for every
# conversation.
_RESTARTED = tuple(name for name in _STATES if name not in ("previous", "ages", "speaker_on", "who"))


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
        raise UsageError("a session joins a batch once it has stepped a frame (its stream states exist)")
    return first.carrying([seed for s in sessions for seed in s.seeds], [rng for s in sessions for rng in s.rngs],
                          set().union(*(s.inputs_seen for s in sessions)), max(s.frame for s in sessions),
                          {name: join_rows([getattr(s, name) for s in sessions]) for name in _STATES})


@torch.inference_mode()  # the states are inference tensors (made in steps), written in place
def place(batch: StreamingSession, group: StreamingSession, slots: list[int]) -> StreamingSession:
    """Write `group`'s conversations into the batch's conversation slots `slots` (one each, in
    order; whatever they held is overwritten), changing `batch` itself: its key/value rings are
    written in place, so a conversation joining a batch with room costs its own rows, where merge
    copies every conversation's state (20-25 ms for 8 joining 24 at K = 1, the whole server's
    frames waiting meanwhile). Returns the batch."""
    _check(batch, group)
    if group.frame < 1:
        raise UsageError("a session joins a batch once it has stepped a frame (its stream states exist)")
    if len(slots) != group.clips or len(set(slots)) != len(slots) or any(not 0 <= s < batch.clips for s in slots):
        raise UsageError(f"{group.clips} conversations need as many distinct slots below {batch.clips}, got {slots}")
    index = torch.tensor(slots)
    for name in _STATES:
        setattr(batch, name, place_rows(getattr(batch, name), getattr(group, name), index, batch.clips))
    for i, slot in enumerate(slots):
        batch.seeds[slot], batch.rngs[slot] = group.seeds[i], group.rngs[i]
    batch.inputs_seen |= group.inputs_seen
    batch.frame = max(batch.frame, group.frame)
    return batch


@torch.inference_mode()
def restart(batch: StreamingSession, slots: list[int], seeds: list[int], personality=None) -> StreamingSession:
    """New conversations (one seed each, and a personality each or None: generator/personality.py)
    in the batch's conversation slots `slots`, changing `batch`
    itself: their rows of every stream state start over as a new session's (rings emptied in place,
    convolution pasts zeroed, the listener's last token BOS, a generator seeded afresh), so their
    first frame steps together with the other conversations' (`step_clips(active=...)`) and equals
    a solo session's first frame up to float rounding. No pass of their own and no allocation of a
    new state, where `place` needs a session already stepped. Returns the batch."""
    if len(slots) != len(seeds) or len(set(slots)) != len(slots) or any(not 0 <= s < batch.clips for s in slots):
        raise UsageError(f"{len(seeds)} new conversations need as many distinct slots below {batch.clips}, "
                         f"got {slots}")
    if batch.frame < 1:
        raise UsageError("conversations restart in a batch that has stepped a frame (its stream states exist)")
    index = torch.tensor(slots)
    for name in _RESTARTED:
        setattr(batch, name, restart_rows(getattr(batch, name), index, batch.clips))
    previous = batch.previous.clone()  # frames already returned may share the old tokens' memory
    previous[torch.from_numpy(conversation_rows(np.array(slots), batch.samples))] = batch.generator.bos
    batch.previous = previous
    ages = batch.ages.clone()
    ages[index] = 0
    batch.ages = ages
    who = listener_rows(batch.generator, personality, len(slots))
    if who is not None:
        batch.who = batch.who.clone()
        batch.who[index] = who
    for slot, seed in zip(slots, seeds):
        batch.seeds[slot], batch.rngs[slot] = seed, torch.Generator().manual_seed(seed)
    return batch


def take(session: StreamingSession, conversations: list[int]) -> StreamingSession:
    """A session carrying only the given conversations (indices into session.seeds), in that order;
    the original is left as it was."""
    total = session.clips
    if not conversations or any(not 0 <= c < total for c in conversations):
        raise UsageError(f"conversations must be indices below {total}, got {conversations}")
    keep = torch.tensor(conversations)
    return session.carrying([session.seeds[c] for c in conversations], [session.rngs[c] for c in conversations],
                            set(session.inputs_seen), session.frame,
                            {name: take_rows(getattr(session, name), keep, total) for name in _STATES})
