"""Live reactions: one speaker frame in (1/25 s of audio samples and a face frame), the next
listener frame out for each of K parallel reactions.

Every model keeps its past in a key/value cache trimmed to its attention band, so a step costs
one frame's work whatever the conversation's length. `generate_clips` runs this same session
over clips for online models, so streaming a clip gives exactly the frames of generating it.

One session can carry several speaker clips at once (`seeds`: one per clip): the rows of every
forward pass are clip-major, K reactions per clip, and each clip draws from its own seeded
generator, so a batch of clips is one forward pass per frame instead of one per clip.
"""
from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from facereact.data.audio import check_rate, frame_features
from facereact.data.wav2vec2 import Wav2Vec2Features, Wav2Vec2Stream
from facereact.errors import UsageError
from facereact.generator.inputs import describe, emotion_frame, face_frame
from facereact.generator.model import ReactionGenerator
from facereact.generator.personality import listener_rows
from facereact.generator.sampling import Sampling, own_sampling
from facereact.generator.turns import TurnTaking, init_turns, turn_step
from facereact.layout import EMOTION_DIM, FACE_DIM
from facereact.nn import fast
from facereact.nn.streaming import State, conversation_rows, place, take
from facereact.tokenizer.model import FaceTokenizer


@dataclass
class ListenerFrame:
    face: np.ndarray  # (K, FACE_DIM); (clips * K, FACE_DIM) clip-major in a batch of clips
    emotion: np.ndarray  # (K, EMOTION_DIM)
    tokens: np.ndarray  # (K,)


class _Session:
    """What both settings share: sampling, the listener's last tokens, the generator's and the
    tokenizer's stream states. `reset()` starts a new conversation with the same models;
    `close()` frees the states (a server holds many sessions).

    Everything a session holds per conversation is one table, `state`: named tensors whose rows
    are clip-major (the streaming contract, nn/streaming.py), beside the conversations' `seeds`
    and random generators `rngs`. `new_state(clips, who)` is a new conversation's row of it, so a
    live batch (generator/cohort.py) joins, takes, places and starts conversations over with no
    list of what is in it."""

    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, samples: int,
                 sampling: Sampling, seeds: list[int], personality=None) -> None:
        if samples < 1:
            raise UsageError(f"samples (K) must be at least 1, got {samples}")
        self.generator, self.tokenizer = generator.eval(), tokenizer.eval()
        sampling = own_sampling(generator) if sampling is None else sampling
        self.samples, self.sampling, self.seeds = samples, sampling, list(seeds)
        self.clips = len(self.seeds)
        # With guidance the listener runs twice per clip, K rows hearing the speaker and K not.
        self.guided = sampling.guided
        distilled = generator.config.distilled_guidance
        if self.guided and distilled != 1.0:
            warnings.warn(f"this generator samples with guidance {distilled:g} already (distilled into its weights); "
                          f"guidance {sampling.guidance:g} now applies on top of it, with a second pass")
        # (clips, 2 width) who each conversation's listener is (generator/personality.py), kept
        # over resets; None for a generic generator
        self._who = listener_rows(generator, personality, self.clips)
        self.reset()

    def new_state(self, clips: int, who: torch.Tensor | None) -> State:
        """The table's rows of `clips` new conversations whose listeners are `who`: nothing heard,
        the first listener token BOS."""
        k = self.samples
        return {"previous": torch.full((clips * k,), self.generator.bos, dtype=torch.long),
                # frames each conversation has stepped: conversations of a live batch differ in age,
                # and the guidance ramp (Sampling.guidance_ramp) follows each one's own
                "ages": torch.zeros(clips, dtype=torch.long),
                # the guided rows' pattern: K rows hearing the speaker, K not
                "speaker_on": torch.cat([torch.ones(k), torch.zeros(k)]).repeat(clips) if self.guided else None,
                "who": who,
                "generator": self.generator.init_state(clips, 2 * k if self.guided else k),
                "decoder": self.tokenizer.init_decode_state(clips * k)}

    def reset(self) -> None:
        """A new conversation: empty states, the first listener token is BOS, sampling reseeded."""
        self.rngs = [torch.Generator().manual_seed(s) for s in self.seeds]
        self.state = self.new_state(self.clips, self._who)
        self.frame = 0

    @property
    def who(self) -> torch.Tensor | None:
        """(clips, 2 width) each conversation's listener (the table's "who"); None: generic."""
        return self.state["who"]

    def close(self) -> None:
        """Drop the stream states now, not when the session object is collected."""
        self.state = None

    def _next_tokens(self, active: np.ndarray | None, who: torch.Tensor | None, face_seen: np.ndarray) -> torch.Tensor:
        """The next token of every reaction of every conversation, or of the `active` ones, whose
        listeners are `who` (their rows of the table's "who") and whose speakers' faces are seen
        where `face_seen` (bool, one per conversation stepped: the guidance may differ)."""
        head, k, state = self.generator.head, self.samples, self.state
        c = self.clips if active is None else len(active)
        previous, rngs, speakers, ages = state["previous"], self.rngs, None, state["ages"]
        if active is not None:
            previous = previous.view(self.clips, k)[torch.from_numpy(active)].reshape(-1)
            rngs, speakers, ages = [self.rngs[i] for i in active], active, ages[torch.from_numpy(active)]
        if not self.guided:
            rows = None if active is None else conversation_rows(active, k)
            who = None if who is None else who.repeat_interleave(k, 0)
            return head.sample(self.generator.listener_step(previous, state["generator"], self.frame, None, rows,
                                                            speakers, who), self.sampling, rngs)
        previous = previous.view(c, 1, k).expand(c, 2, k).reshape(-1)
        rows = None if active is None else conversation_rows(active, 2 * k)
        on = state["speaker_on"][:2 * k * c]  # the same pattern for every conversation
        who = None if who is None else who.repeat_interleave(2 * k, 0)  # the listener-only rows: the same listener
        both = self.generator.listener_step(previous, state["generator"], self.frame, on, rows, speakers,
                                            who).view(c, 2, k, -1)
        guidance = self.sampling.guidance_at(ages, torch.from_numpy(face_seen)).repeat_interleave(k)  # per reaction
        return head.sample(both[:, 0].reshape(c * k, -1), self.sampling, rngs, both[:, 1].reshape(c * k, -1),
                           guidance)

    def _emit(self, tokens: torch.Tensor, active: np.ndarray | None = None) -> ListenerFrame:
        rows, state = None, self.state
        if active is None:
            state["previous"].copy_(tokens)  # in place: the table's tensors are its own, never a frame's
            state["ages"] += 1
        else:
            rows = conversation_rows(active, self.samples)
            state["previous"][torch.from_numpy(rows)] = tokens
            state["ages"][torch.from_numpy(active)] += 1
        self.frame += 1
        face, emotion = self.tokenizer.decode_step(tokens, state["decoder"], rows)
        return ListenerFrame(face.numpy(), emotion.numpy(), tokens.numpy())


class StreamingSession(_Session):
    """Online reactions, frame by frame, for robots and avatars.

    Each step takes this frame's speaker audio and, when there are any, the speaker's face (the
    FACE_DIM coefficients, or tracker names: generator/inputs.py) and emotion; an absent input is
    marked absent, never faked. With read_emotion, a frame with a face but no emotion has its
    emotion read off the face by the tokenizer's reader.

    Raw audio (`step`) is heard the way the generator was trained: MFCCs, or, for a generator of
    wav2vec2 features (MARS), features from the local checkpoint given as `wav2vec2`
    (data/wav2vec2.py), each from the trailing `wav2vec2_window` seconds.

    A frame marked `speaking` is one where the listener itself speaks (a robot's own voice): no
    backchannels then, its face held and its listening resumed smoothly after (generator/turns.py,
    set by `turns`).
    """

    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, samples: int = 10,
                 sampling: Sampling | None = None, seed: int = 0, read_emotion: bool = False,
                 seeds: list[int] | None = None, wav2vec2: Wav2Vec2Features | None = None,
                 wav2vec2_window: float = 1.0, turns: TurnTaking | None = TurnTaking(),
                 personality=None) -> None:
        """seeds: several speaker clips at once, one seed each (generate_clips); else one, `seed`.
        turns: None for a listener that never speaks (clips generated for scoring), which skips
        the turn filter's work. personality: who the listener is, for a personal generator (one
        per conversation, generator/personality.py); None: unknown."""
        if generator.config.offline:
            raise UsageError("an offline generator sees the whole speaker clip and cannot stream: "
                             "train one without --offline")
        self.fps = generator.config.fps
        self.turn_taking = turns
        self.wav2vec2, self.wav2vec2_window = wav2vec2, wav2vec2_window
        self.read_emotion = read_emotion
        self.resting = tokenizer.face_mean.numpy()
        super().__init__(generator, tokenizer, samples, sampling, [seed] if seeds is None else seeds, personality)

    def new_state(self, clips: int, who: torch.Tensor | None) -> State:
        state = super().new_state(clips, who)
        # whether each conversation's face encoder and reader are streaming its face: False until a
        # face comes, and again from a frame without one until the next starts them over
        state["face_on"] = torch.zeros(clips, dtype=torch.bool)
        state["encoder"] = self.tokenizer.init_encode_state(clips)
        state["reader"] = self._new_reader(clips)
        state["turns"] = None if self.turn_taking is None else init_turns(clips, self.samples, FACE_DIM, EMOTION_DIM)
        return state

    def _new_reader(self, clips: int) -> State | None:
        return self.tokenizer.emotion_reader.init_state(clips, FACE_DIM) if self.read_emotion else None

    def reset(self) -> None:
        super().reset()
        self._wav2vec2_streams: dict[int, Wav2Vec2Stream] = {}  # per sample rate
        self.inputs_seen: set[str] = set()

    def carrying(self, seeds: list[int], rngs: list[torch.Generator], inputs_seen: set[str], frame: int,
                 state: State) -> "StreamingSession":
        """A session of these models and settings carrying other conversations: their seeds, random
        generators and table (`state`), as generator/cohort.py joins and takes them apart."""
        session = copy.copy(self)  # the models and settings are shared, not copied
        session.state, session.seeds, session.clips, session.rngs = state, seeds, len(seeds), rngs
        session.inputs_seen, session.frame = inputs_seen, frame
        return session

    @torch.inference_mode()
    def step_features(self, audio: np.ndarray, face: np.ndarray | Mapping[str, float] | None = None,
                      emotion: np.ndarray | None = None, speaking: bool = False) -> ListenerFrame:
        """One frame from precomputed speaker features: audio (AUDIO_DIM,), and the face and emotion
        when present (None: absent); speaking: the listener itself speaks this frame."""
        face, emotion = face_frame(face, self.resting), emotion_frame(emotion)
        return self.step_clips(np.asarray(audio, np.float32)[None], None if face is None else face[None],
                               None if emotion is None else emotion[None], speaking=np.array([bool(speaking)]))

    @torch.inference_mode()
    def step_clips(self, audio: np.ndarray, face: np.ndarray | None = None, emotion: np.ndarray | None = None,
                   face_on: np.ndarray | None = None, emotion_on: np.ndarray | None = None,
                   active: np.ndarray | None = None, speaking: np.ndarray | None = None) -> ListenerFrame:
        """One frame of every conversation: audio (clips, AUDIO_DIM), face (clips, FACE_DIM) and
        emotion (clips, EMOTION_DIM) already checked, or None where absent for all. face_on and
        emotion_on (clips,) bool: which conversations have that input this frame (default: all
        when the array is given); the rows of the others are ignored. speaking (clips,) bool:
        where the listener itself speaks this frame (default: nowhere).

        active: the conversations (indices into seeds, each once) these rows are, when only some
        step (a live batch whose other conversations' frames have not come): the others are not
        computed and keep their past exactly as it is, so they go on later as if nothing had
        happened. Their first frame steps every conversation."""
        c = self.clips if active is None else len(active)
        if active is not None and self.frame == 0:
            raise UsageError("a session's first frame steps every conversation")
        has_face = np.zeros(c, bool) if face is None else np.ones(c, bool) if face_on is None else face_on
        has_emotion = np.zeros(c, bool) if emotion is None else np.ones(c, bool) if emotion_on is None else emotion_on
        faces = np.tile(self.resting, (c, 1))  # the generator is told a missing face is absent
        if face is not None:
            faces[has_face] = face[has_face]
        f = torch.from_numpy(faces)[:, None]
        read = has_face & ~has_emotion if self.read_emotion else np.zeros(c, bool)
        speaker_token, reading = self._see(f, has_face, active)
        e = torch.zeros(c, 1, EMOTION_DIM)
        if emotion is not None:
            e[torch.from_numpy(has_emotion)] = torch.from_numpy(emotion[has_emotion])[:, None]
        if read.any():
            e[torch.from_numpy(read)] = reading[torch.from_numpy(read)]
        on = (torch.from_numpy(has_face.astype(np.float32)), torch.from_numpy((has_emotion | read).astype(np.float32)))
        a = torch.as_tensor(audio, dtype=torch.float32)[:, None]
        who = self.who if self.who is None or active is None else self.who[torch.from_numpy(active)]
        self.generator.speaker_step(self.generator.speaker_embedding(a, f, e, speaker_token, *on, who),
                                    self.state["generator"], active)
        self.inputs_seen.update(describe(*flags) for flags in set(zip(has_face, has_emotion, read)))
        return self._take_turns(self._emit(self._next_tokens(active, who, has_face), active), speaking, active)

    def _take_turns(self, frame: ListenerFrame, speaking: np.ndarray | None, active: np.ndarray | None
                    ) -> ListenerFrame:
        """The frame as shown: held where the listener speaks or has just spoken (generator/turns.py)."""
        c = self.clips if active is None else len(active)
        talking = np.zeros(c, bool) if speaking is None else np.asarray(speaking, bool)
        if talking.shape != (c,):
            raise UsageError(f"speaking needs one flag per conversation stepped ({c}), got shape {talking.shape}")
        if self.turn_taking is None:
            if talking.any():
                raise UsageError("this session was made without turn-taking (turns=None): the listener cannot speak")
            return frame
        index = None if active is None else torch.from_numpy(active)
        turns = self.state["turns"]
        state = turns if index is None else take(turns, index, self.clips)
        first = (self.state["ages"] if index is None else self.state["ages"][index]).numpy() == 1  # counted already
        face, emotion, state = turn_step(self.turn_taking, state, frame.face, frame.emotion, talking, first, self.fps)
        if index is None:
            self.state["turns"] = state
        else:
            place(turns, state, index, self.clips)
        return ListenerFrame(face, emotion, frame.tokens)

    def _see(self, f: torch.Tensor, has_face: np.ndarray, active: np.ndarray | None
             ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The face encoder's speaker tokens (rows, 1) and the reader's emotions (rows, 1, EMOTION_DIM)
        for this step's faces f (rows, 1, FACE_DIM). They run on the frames with a face only: a
        token or reading of a row without one is never used (the generator's input there is its
        learned absent face). A face that comes after frames without one (or first) starts that
        conversation's encoder and reader over, as a clip's first frame (their rings never hold
        made-up frames). A robot without a camera pays for neither."""
        c, state = f.shape[0], self.state
        reader = self.tokenizer.emotion_reader if self.read_emotion else None
        seen = np.flatnonzero(has_face)
        conversations = seen if active is None else active[seen]
        tokens, reading = torch.zeros(c, 1, dtype=torch.long), None
        if len(seen):
            new = conversations[~state["face_on"][torch.from_numpy(conversations)].numpy()]
            if len(new) and self.frame > 0:  # a new session's encoder and reader are new already
                index = torch.from_numpy(new)
                place(state["encoder"], self.tokenizer.init_encode_state(len(new)), index, self.clips)
                place(state["reader"], self._new_reader(len(new)), index, self.clips)
            rows = None if active is None and len(seen) == c else conversations
            sub = torch.from_numpy(seen)
            tokens[sub] = self.tokenizer.encode_step(f[sub, 0], state["encoder"], rows)[:, None]
            if reader is not None:
                got = reader.step(self.tokenizer.normalize(f[sub]), state["reader"], rows)
                reading = got.new_zeros(c, *got.shape[1:])
                reading[sub] = got
        state["face_on"][torch.arange(self.clips) if active is None else torch.from_numpy(active)] = \
            torch.from_numpy(has_face)
        return tokens, reading

    def check_rate(self, rate: int) -> None:
        """DataError(None, why) unless raw audio at this rate can be heard (MFCC's sub-frames; a
        wav2vec2 front end resamples any rate)."""
        if self.generator.config.audio_feature == "mfcc":
            check_rate(rate)

    def step(self, samples: np.ndarray, rate: int, face: np.ndarray | Mapping[str, float] | None = None,
             emotion: np.ndarray | None = None, speaking: bool = False) -> ListenerFrame:
        """One frame from raw audio: `samples` are this frame's int(rate / fps) mono samples in
        [-1, 1]; face, emotion and speaking as in step_features."""
        expected = int(rate / self.fps)
        if np.shape(samples) != (expected,):
            raise UsageError(f"one frame at {rate} Hz is {expected} mono samples, got shape {np.shape(samples)}")
        return self.step_features(self._hear(samples, rate), face, emotion, speaking)

    def _hear(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """This frame's audio feature, as the generator was trained to hear it."""
        if self.generator.config.audio_feature == "mfcc":
            return frame_features(samples, rate, 1)[0]
        if self.wav2vec2 is None:
            raise UsageError("this generator hears wav2vec2 features: give a local wav2vec2 checkpoint folder "
                             "(--wav2vec2 DIR), or step_features with features computed elsewhere")
        if rate not in self._wav2vec2_streams:
            self._wav2vec2_streams[rate] = Wav2Vec2Stream(self.wav2vec2, rate, self.fps, self.wav2vec2_window)
        return self._wav2vec2_streams[rate].step(samples)


class OfflineSession(_Session):
    """The whole speaker clip is encoded first; the listener is still generated frame by frame.
    audio (clips, T, AUDIO_DIM); face and emotion (clips, T, ...) may be None: absent throughout."""

    @torch.inference_mode()
    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, audio: np.ndarray,
                 face: np.ndarray | None = None, emotion: np.ndarray | None = None, samples: int = 10,
                 sampling: Sampling | None = None, seeds: list[int] = (0,), read_emotion: bool = False,
                 personality=None) -> None:
        clips, frames = audio.shape[:2]
        resting = np.broadcast_to(tokenizer.face_mean.numpy(), (clips, frames, tokenizer.face_mean.shape[0]))
        f = torch.tensor(resting if face is None else face, dtype=torch.float32)
        read = read_emotion and face is not None and emotion is None
        if read:
            e = tokenizer.emotion_reader(tokenizer.normalize(f))
        else:
            e = torch.as_tensor(np.zeros((clips, frames, EMOTION_DIM), np.float32) if emotion is None else emotion)
        on = (torch.full((clips,), float(face is not None)), torch.full((clips,), float(emotion is not None or read)))
        self.speaker = (torch.as_tensor(audio, dtype=torch.float32), f, e.float(), on)
        self.face_seen = np.full(clips, face is not None)
        super().__init__(generator, tokenizer, samples, sampling, seeds, personality)

    @torch.inference_mode()
    def reset(self) -> None:
        super().reset()
        a, f, e, on = self.speaker
        self.generator.prepare_offline(self.generator.speaker_embedding(a, f, e, self.tokenizer.encode(f), *on,
                                                                        self.who), self.state["generator"])

    @torch.inference_mode()
    def next_frame(self) -> ListenerFrame:
        return self._emit(self._next_tokens(None, self.who, self.face_seen))


@torch.inference_mode()
def generate_clips(generator: ReactionGenerator, tokenizer: FaceTokenizer, audio: np.ndarray,
                   face: np.ndarray | None = None, emotion: np.ndarray | None = None, samples: int = 10,
                   sampling: Sampling | None = None, seeds: list[int] = (0,), read_emotion: bool = False,
                   on_frame: Callable[[], None] | None = None, personality=None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K reactions to each of several equal-length speaker clips, in one batch: audio
    (clips, T, AUDIO_DIM), face and emotion likewise or None (absent); one seed per clip;
    personality: each clip's listener, for a personal generator (generator/personality.py).
    Returns faces (clips, K, T, FACE_DIM), emotions (clips, K, T, EMOTION_DIM), tokens (clips, K, T).
    on_frame() is called after every frame (a progress bar).

    Online models run the streaming session over the clips, so this is what a live stream gives.
    A clip's reactions do not depend on which clips share its batch, up to float rounding in the
    batched matrix products.
    """
    clips, n = audio.shape[:2]
    if len(seeds) != clips:
        raise UsageError(f"{clips} clips need {clips} seeds, got {len(seeds)}")
    if generator.config.offline:
        offline = OfflineSession(generator, tokenizer, audio, face, emotion, samples, sampling, seeds, read_emotion,
                                 personality)
        step = lambda t: offline.next_frame()  # noqa: E731
    else:
        online = StreamingSession(generator, tokenizer, samples, sampling, read_emotion=read_emotion, seeds=seeds,
                                  turns=None, personality=personality)
        step = lambda t: online.step_clips(audio[:, t], None if face is None else face[:, t],  # noqa: E731
                                           None if emotion is None else emotion[:, t])
    frames = []
    with fast.kernel_threads():  # many rows a step: the compiled steps take the cores
        for t in range(n):
            frames.append(step(t))
            if on_frame is not None:
                on_frame()
    shape = (clips, samples, n)
    return (np.stack([f.face for f in frames], 1).reshape(*shape, -1),
            np.stack([f.emotion for f in frames], 1).reshape(*shape, -1),
            np.stack([f.tokens for f in frames], 1).reshape(shape))


def generate_clip(generator: ReactionGenerator, tokenizer: FaceTokenizer, audio: np.ndarray,
                  face: np.ndarray | None = None, emotion: np.ndarray | None = None, samples: int = 10,
                  sampling: Sampling | None = None, seed: int = 0,
                  read_emotion: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K reactions to one speaker clip: faces (K, T, FACE_DIM), emotions (K, T, EMOTION_DIM), tokens (K, T).
    face and emotion may be None (absent); see StreamingSession for read_emotion."""
    batch = [None if x is None else np.asarray(x)[None] for x in (face, emotion)]
    out = generate_clips(generator, tokenizer, np.asarray(audio)[None], *batch, samples, sampling, [seed],
                         read_emotion)
    return tuple(x[0] for x in out)


_COMPILED = False


def compile_steps() -> None:
    """Compile the streaming steps' kernels (nn/fast.py) for every argument layout a session
    passes them, on tiny models: about 15 s the first time on a machine (numba keeps them on
    disk), under a second after. A live server calls it before its first conversation, whose
    first frame would otherwise wait for the compiler. Once per process. If they cannot be
    compiled here, a warning says why and sessions use the torch steps (slower, never wrong)."""
    global _COMPILED
    if _COMPILED:
        return
    _COMPILED = True
    from facereact.generator.model import GeneratorConfig
    from facereact.tokenizer.model import TokenizerConfig

    tokenizer = FaceTokenizer(TokenizerConfig(levels=(2, 2), width=8, layers=1, heads=2, emotion_layers=1,
                                              reader_width=8, reader_layers=1, context=2)).eval()
    try:
        for offline in (False, True):  # rings before and after they fill; offline's sliced bands
            generator = ReactionGenerator(GeneratorConfig(levels=(2, 2), width=8, heads=2, layers=1, context=2,
                                                          future=1, offline=offline)).eval()
            audio = np.zeros((1, 5, generator.config.audio_dim), np.float32)
            for guidance in (1.0, 2.0):
                generate_clips(generator, tokenizer, audio, samples=2, sampling=Sampling(guidance=guidance))
    except Exception as exc:  # a compiler problem on this machine must not stop a live service
        fast.set_enabled(False)
        warnings.warn(f"the compiled streaming steps are unavailable here ({type(exc).__name__}: {exc}); "
                      "sessions use the torch steps")
