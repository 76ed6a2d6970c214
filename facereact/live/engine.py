"""Every live conversation of one model, stepped together.

Each conversation queues speaker frames (audio features, and a face and emotion when it has them);
every `tick`, each conversation with a frame waiting advances one frame. All of them share one
batched forward pass: one StreamingSession that carries them all (generator/cohort.py), whatever
their ages. A member with no frame this tick stays in the batch and is not stepped
(step_clips(active=...): every ring row keeps its own position), so a tick costs the conversations
whose frames it steps, whoever else is connected: ticks can follow the frames closely. The batch
keeps free slots: a conversation that ends leaves its slot free, and a new one starts over in a
free slot (cohort.restart: its rows emptied in place) and takes its first frame in the same pass
as everyone else's, at no more cost than a member's frame. Only when too few slots are free do the
newcomers step their first frame in a session of their own, which joins a batch grown to twice its
slots, in one copy of everyone's state (cohort.merge).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from facereact.errors import UsageError
from facereact.generator.cohort import merge, restart, take
from facereact.generator.model import ReactionGenerator
from facereact.generator.sampling import Sampling
from facereact.generator.session import ListenerFrame, StreamingSession
from facereact.layout import AUDIO_DIM, EMOTION_DIM, FACE_DIM, FPS
from facereact.tokenizer.model import FaceTokenizer


@dataclass
class SpeakerFrame:
    audio: np.ndarray  # (AUDIO_DIM,) features
    face: np.ndarray | None = None  # (FACE_DIM,) or None: no face this frame
    emotion: np.ndarray | None = None  # (EMOTION_DIM,) or None
    speaking: bool = False  # the listener itself speaks this frame (generator/turns.py)


@dataclass
class Conversation:
    seed: int
    queue: deque
    frames: int = 0
    personality: np.ndarray | None = None  # who the listener is (generator/personality.py); None: unknown


class ConversationQueues:
    """What every engine keeps: each open conversation's queue of speaker frames, bounded."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self.conversations: dict[int, Conversation] = {}
        self._next_id = 0

    def open(self, seed: int, cid: int | None = None, personality: np.ndarray | None = None) -> int:
        """A new conversation (under `cid`, or the next free id), its listener of `personality`
        (checked values, or None: unknown); its id."""
        if cid is None:
            cid = self._next_id
        if cid in self.conversations:
            raise UsageError(f"conversation {cid} is already open")
        self._next_id = max(self._next_id, cid + 1)
        self.conversations[cid] = Conversation(seed, deque(), personality=personality)
        return cid

    def submit(self, cid: int, frame: SpeakerFrame) -> None:
        queue = self.conversations[cid].queue
        if len(queue) >= self.max_queue:
            raise UsageError(f"more than {self.max_queue} speaker frames are waiting: faster than real time")
        queue.append(frame)

    def pending(self) -> int:
        return sum(len(c.queue) for c in self.conversations.values())


class ReactionEngine(ConversationQueues):
    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, samples: int = 10,
                 sampling: Sampling | None = None, read_emotion: bool = False, max_queue: int = 50,
                 reserve: int = 4) -> None:
        """reserve: the slots the batch starts with (it doubles when full): conversations that join
        within them cost no copy of the others' state."""
        super().__init__(max_queue)
        if generator.config.offline:
            raise UsageError("an offline generator cannot serve live conversations: give an online one")
        if (generator.config.fps, generator.config.audio_feature) != (FPS, "mfcc"):
            raise UsageError(f"live audio is heard as MFCCs at {FPS} fps; this generator runs at "
                             f"{generator.config.fps} fps on {generator.config.audio_feature} features")
        self.generator, self.tokenizer = generator, tokenizer
        self.samples, self.sampling, self.read_emotion = samples, sampling, read_emotion
        if reserve < 1:
            raise UsageError(f"a batch reserves at least 1 slot, got {reserve}")
        self.reserve = reserve
        self.batch: StreamingSession | None = None  # the shared session
        self.rows: list[int | None] = []  # its conversations in slot order; None: a free slot

    def prepare(self) -> None:
        """Build the batch's `reserve` slots now, all free (one pass over silence), so that the
        first conversations start over in them at no cost instead of waiting for the batch's
        state to be made and copied as they come. A server calls it before it accepts anyone."""
        if self.batch is not None:
            return
        self.batch = self._session(list(range(self.reserve)))
        self.batch.step_clips(np.zeros((self.reserve, AUDIO_DIM), np.float32))
        self.rows = [None] * self.reserve

    def _session(self, seeds: list[int], personality: list | None = None) -> StreamingSession:
        """A new session of this engine's models and settings, one conversation per seed (and
        per personality, None: unknown listeners)."""
        return StreamingSession(self.generator, self.tokenizer, self.samples, self.sampling,
                                read_emotion=self.read_emotion, seeds=seeds, personality=personality)

    @property
    def members(self) -> list[int]:
        """The conversations in the shared batch, in row order."""
        return [cid for cid in self.rows if cid is not None]

    def close(self, cid: int) -> None:
        """End a conversation. Its slot is free for the next one to join; the batch shrinks (to
        twice the conversations left, never below `reserve` slots) once they are a quarter of its
        slots or fewer: taking rows out copies every other conversation's state, which done at
        every close would stall everyone's next frame each time a conversation ends."""
        if self.conversations.pop(cid, None) is None or cid not in self.rows:
            return
        self.rows[self.rows.index(cid)] = None
        live = [i for i, member in enumerate(self.rows) if member is not None]
        size = max(2 * len(live), self.reserve)
        if len(live) <= len(self.rows) // 4 and size < len(self.rows):
            spare = size - len(live)  # free slots kept, filled with copies until someone starts over in them
            self.batch = take(self.batch, live + [(live or [0])[0]] * spare)
            self.rows = [self.rows[i] for i in live] + [None] * spare

    def tick(self) -> dict[int, ListenerFrame]:
        """One frame for every conversation that has one waiting: {id: its listener frame (K rows)}."""
        out = self.tick_members()
        out.update(self.tick_new())
        return out

    def tick_members(self) -> dict[int, ListenerFrame]:
        """tick's first half: the conversations in the batch with a frame waiting, and new ones
        for which it has free slots: they start over in those slots (cohort.restart) and take their
        first frame in this same pass."""
        self._restart_newcomers()
        index = {cid: i for i, cid in enumerate(self.rows) if cid is not None}
        started = [cid for cid in index if self.conversations[cid].queue]
        if not started:
            return {}
        if len(started) == len(self.rows):  # every slot taken, and stepped
            out = self._step(self.batch, list(self.rows))
        else:
            out = self._step(self.batch, started, np.array([index[cid] for cid in started], np.int64))
        for cid in started:
            self.conversations[cid].frames += 1
        return out

    def newcomers(self) -> list[int]:
        """The conversations whose first frame is waiting and that have no slot yet (tick_new's)."""
        placed = set(self.rows)
        return [cid for cid, c in self.conversations.items() if c.queue and c.frames == 0 and cid not in placed]

    def _restart_newcomers(self) -> None:
        """Newcomers into free slots of the batch, when it has room for all of them."""
        new = self.newcomers()
        free = [i for i, member in enumerate(self.rows) if member is None]
        if not new or self.batch is None or len(free) < len(new):
            return
        restart(self.batch, free[:len(new)], [self.conversations[cid].seed for cid in new],
                [self.conversations[cid].personality for cid in new])
        for slot, cid in zip(free, new):
            self.rows[slot] = cid

    def tick_new(self) -> dict[int, ListenerFrame]:
        """tick's second half: the first frames of new conversations the batch had no room for,
        together in a session of their own, which then joins the batch (grown). A server sends
        the members' frames before this, so that a growth (an extra pass, and a copy of every
        conversation's state) does not delay them."""
        new = self.newcomers()
        if not new:
            return {}
        group = self._session([self.conversations[c].seed for c in new], [self.conversations[c].personality for c in new])
        out = self._step(group, new)
        self._join(group, new)
        for cid in new:
            self.conversations[cid].frames += 1
        return out

    def _join(self, group: StreamingSession, new: list[int]) -> None:
        """The conversations `new` (the group's, stepped once) into a batch grown to twice its
        slots (at least `reserve`): tick_members restarts newcomers in free slots when there are
        enough, so the group comes here only when there are not."""
        size = max(self.reserve, 2 * len(self.rows), len(self.rows) + len(new))
        spare = size - len(self.rows) - len(new)  # free slots, filled with copies until a conversation takes them
        parts = ([] if self.batch is None else [self.batch]) + [group] + ([take(group, [0] * spare)] if spare else [])
        self.batch = merge(parts) if len(parts) > 1 else group
        self.rows = self.rows + new + [None] * spare

    def _step(self, session: StreamingSession, stepped: list[int], active: np.ndarray | None = None) \
            -> dict[int, ListenerFrame]:
        """One frame of the conversations `stepped` (all of the session's, or its rows `active`)."""
        frames = [self.conversations[cid].queue.popleft() for cid in stepped]
        audio, face, emotion, face_on, emotion_on, speaking = _stack(frames)
        listener = session.step_clips(audio, face, emotion, face_on, emotion_on, active, speaking)
        k = self.samples
        return {cid: ListenerFrame(listener.face[i * k:(i + 1) * k], listener.emotion[i * k:(i + 1) * k],
                                   listener.tokens[i * k:(i + 1) * k]) for i, cid in enumerate(stepped)}


def _stack(frames: list[SpeakerFrame]) -> tuple[np.ndarray, ...]:
    """step_clips' arguments for one frame of each conversation."""
    n = len(frames)
    face, emotion = np.zeros((n, FACE_DIM), np.float32), np.zeros((n, EMOTION_DIM), np.float32)
    face_on, emotion_on = np.zeros(n, bool), np.zeros(n, bool)
    for i, f in enumerate(frames):
        if f.face is not None:
            face[i], face_on[i] = f.face, True
        if f.emotion is not None:
            emotion[i], emotion_on[i] = f.emotion, True
    speaking = np.array([f.speaking for f in frames], bool)
    return np.stack([f.audio for f in frames]), face, emotion, face_on, emotion_on, speaking
