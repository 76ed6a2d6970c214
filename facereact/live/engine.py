"""Every live conversation of one model, stepped together.

Each conversation queues speaker frames (audio features, and a face and emotion when it has them);
every `tick`, each conversation with a frame waiting advances one frame. All of them share one
batched forward pass: one StreamingSession that carries them all (generator/cohort.py), whatever
their ages. New conversations step their first frame together in a session of their own (their
stream states are created then), which joins the batch. A member with no frame this tick stays in
the batch, its rows held as they are (cohort.hold: only its own rows are copied), for up to
`max_held` ticks in a row before it leaves; so the batch is rebuilt only when conversations join,
end or fall silent, and a frame a few ms late costs no copy of the others' states.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from facereact.data.errors import UsageError
from facereact.generator.cohort import hold, merge, put_back, take
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


@dataclass
class Conversation:
    seed: int
    session: StreamingSession | None  # its own session while not in the shared batch
    queue: deque
    frames: int = 0
    held: int = 0  # ticks in a row it has been held in the batch without a frame


class ReactionEngine:
    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, samples: int = 10,
                 sampling: Sampling | None = None, read_emotion: bool = False, max_queue: int = 50,
                 max_held: int = 12) -> None:
        if generator.config.offline:
            raise UsageError("an offline generator cannot serve live conversations: give an online one")
        if (generator.config.fps, generator.config.audio_feature) != (FPS, "mfcc"):
            raise UsageError(f"live audio is heard as MFCCs at {FPS} fps; this generator runs at "
                             f"{generator.config.fps} fps on {generator.config.audio_feature} features")
        self.generator, self.tokenizer = generator, tokenizer
        self.samples, self.sampling, self.read_emotion, self.max_queue = samples, sampling, read_emotion, max_queue
        self.max_held = max_held
        self.conversations: dict[int, Conversation] = {}
        self.batch: StreamingSession | None = None  # the shared session
        self.members: list[int] = []  # its conversations, in row order
        self._next_id = 0

    def open(self, seed: int, cid: int | None = None) -> int:
        """A new conversation (under `cid`, or the next free id); its id."""
        if cid is None:
            cid = self._next_id
        if cid in self.conversations:
            raise UsageError(f"conversation {cid} is already open")
        self._next_id = max(self._next_id, cid + 1)
        self.conversations[cid] = Conversation(seed, None, deque())
        return cid

    def close(self, cid: int) -> None:
        """End a conversation and free its state."""
        conversation = self.conversations.pop(cid, None)
        if conversation is None:
            return
        if cid in self.members:
            self._leave([cid], keep_sessions=False)

    def submit(self, cid: int, frame: SpeakerFrame) -> None:
        queue = self.conversations[cid].queue
        if len(queue) >= self.max_queue:
            raise UsageError(f"more than {self.max_queue} speaker frames are waiting: faster than real time")
        queue.append(frame)

    def pending(self) -> int:
        return sum(len(c.queue) for c in self.conversations.values())

    def tick(self) -> dict[int, ListenerFrame]:
        """One frame for every conversation that has one waiting: {id: its listener frame (K rows)}."""
        ready = [cid for cid, c in self.conversations.items() if c.queue]
        started = [cid for cid in ready if self.conversations[cid].frames >= 1]
        new = [cid for cid in ready if self.conversations[cid].frames == 0]
        out = {}
        if started:
            waiting = set(started)
            held = [cid for cid in self.members
                    if cid not in waiting and self.conversations[cid].held < self.max_held]
            self._regroup(started + held)
            out.update(self._step(self.batch, self.members, set(held)))
        elif self.members:
            self._leave(list(self.members))
        if new:  # first frames, together in a session of their own, which then joins the batch
            group = StreamingSession(self.generator, self.tokenizer, self.samples, self.sampling,
                                     read_emotion=self.read_emotion, seeds=[self.conversations[c].seed for c in new])
            out.update(self._step(group, new))
            self.batch = merge([self.batch, group]) if self.batch is not None else group
            self.members = self.members + new
        for cid in ready:
            self.conversations[cid].frames += 1
        return out

    def _step(self, session: StreamingSession, members: list[int], held: set[int] = frozenset()) \
            -> dict[int, ListenerFrame]:
        """One frame of every member but the held ones, which step on silence and are put back."""
        for cid in members:
            self.conversations[cid].held = self.conversations[cid].held + 1 if cid in held else 0
        kept = hold(session, [i for i, cid in enumerate(members) if cid in held]) if held else None
        listener = session.step_clips(*_stack([_SILENCE if cid in held else self.conversations[cid].queue.popleft()
                                               for cid in members]))
        if kept is not None:
            put_back(session, kept)
        k = self.samples
        return {cid: ListenerFrame(listener.face[i * k:(i + 1) * k], listener.emotion[i * k:(i + 1) * k],
                                   listener.tokens[i * k:(i + 1) * k]) for i, cid in enumerate(members)
                if cid not in held}

    # -- the shared batch ----------------------------------------------------------------------------
    def _regroup(self, warm: list[int]) -> None:
        """Make the shared batch's members exactly `warm` (those past their first frame; kept members
        first, in their order)."""
        if self.members == warm:
            return
        leaving = [cid for cid in self.members if cid not in warm]
        if leaving:
            self._leave(leaving)
        joining = [cid for cid in warm if cid not in self.members]
        parts = ([self.batch] if self.batch is not None else []) + \
            [self.conversations[cid].session for cid in joining]
        self.batch = merge(parts) if len(parts) > 1 else parts[0]
        for cid in joining:
            self.conversations[cid].session = None
        self.members = self.members + joining

    def _leave(self, leaving: list[int], keep_sessions: bool = True) -> None:
        """Take conversations out of the shared batch (back to their own sessions, unless closed)."""
        index = {cid: i for i, cid in enumerate(self.members)}
        if keep_sessions:
            for cid in leaving:
                self.conversations[cid].session = take(self.batch, [index[cid]])
        staying = [cid for cid in self.members if cid not in leaving]
        self.batch = take(self.batch, [index[cid] for cid in staying]) if staying else None
        self.members = staying


_SILENCE = SpeakerFrame(np.zeros(AUDIO_DIM, np.float32))  # what a held conversation steps on (then undone)


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
    return np.stack([f.audio for f in frames]), face, emotion, face_on, emotion_on
