"""Live reactions: one speaker frame in (1/25 s of audio samples and a face frame), the next
listener frame out for each of K parallel reactions.

Every model keeps its past in a key/value cache trimmed to its attention band, so a step costs
one frame's work whatever the conversation's length. `generate_clip` runs this same session
over a clip for online models, so streaming a clip gives exactly the frames of generating it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from facereact.data.audio import frame_features
from facereact.data.errors import UsageError
from facereact.generator.inputs import describe, emotion_frame, face_frame
from facereact.generator.model import ReactionGenerator
from facereact.generator.sampling import RECOMMENDED, Sampling
from facereact.layout import EMOTION_DIM, FPS
from facereact.tokenizer.emotion import MotionState
from facereact.tokenizer.model import FaceTokenizer


@dataclass
class ListenerFrame:
    face: np.ndarray  # (K, FACE_DIM)
    emotion: np.ndarray  # (K, EMOTION_DIM)
    tokens: np.ndarray  # (K,)


class _Session:
    """What both settings share: sampling, the listener's last tokens, the generator's and the
    tokenizer's stream states. `reset()` starts a new conversation with the same models;
    `close()` frees the states (a server holds many sessions)."""

    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, samples: int,
                 sampling: Sampling, seed: int) -> None:
        if samples < 1:
            raise UsageError(f"samples (K) must be at least 1, got {samples}")
        self.generator, self.tokenizer = generator.eval(), tokenizer.eval()
        self.samples, self.sampling, self.seed = samples, sampling, seed
        # With guidance the listener runs twice, K rows hearing the speaker and K not, in one batch.
        self.guided = sampling.guidance != 1.0
        self.speaker_on = torch.cat([torch.ones(samples), torch.zeros(samples)]) if self.guided else None
        self.reset()

    def reset(self) -> None:
        """A new conversation: empty states, the first listener token is BOS, sampling reseeded."""
        self.rng = torch.Generator().manual_seed(self.seed)
        self.state = self.generator.new_state()
        self.decode_state = self.tokenizer.new_decode_state()
        self.previous = torch.full((self.samples,), self.generator.bos, dtype=torch.long)
        self.frame = 0

    def close(self) -> None:
        """Drop the stream states now, not when the session object is collected."""
        self.state = self.decode_state = None

    def _next_tokens(self) -> torch.Tensor:
        head = self.generator.head
        if not self.guided:
            return head.sample(self.generator.listener_step(self.previous, self.state, self.frame), self.sampling,
                               self.rng)
        both = self.generator.listener_step(self.previous.repeat(2), self.state, self.frame, self.speaker_on)
        return head.sample(both[:self.samples], self.sampling, self.rng, both[self.samples:])

    def _emit(self, tokens: torch.Tensor) -> ListenerFrame:
        self.previous = tokens
        self.frame += 1
        face, emotion = self.tokenizer.decode_step(tokens, self.decode_state)
        return ListenerFrame(face.numpy(), emotion.numpy(), tokens.numpy())


class StreamingSession(_Session):
    """Online reactions, frame by frame, for robots and avatars.

    Each step takes this frame's speaker audio and, when there are any, the speaker's face (the
    FACE_DIM coefficients, or tracker names: generator/inputs.py) and emotion; an absent input is
    marked absent, never faked. With read_emotion, a frame with a face but no emotion has its
    emotion read off the face by the tokenizer's reader.
    """

    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, samples: int = 10,
                 sampling: Sampling = RECOMMENDED, seed: int = 0, read_emotion: bool = False) -> None:
        if generator.config.offline:
            raise UsageError("an offline generator sees the whole speaker clip and cannot stream: "
                             "train one without --offline")
        self.read_emotion = read_emotion
        self.resting = tokenizer.face_mean.numpy()
        super().__init__(generator, tokenizer, samples, sampling, seed)

    def reset(self) -> None:
        super().reset()
        self.encode_state = self.tokenizer.new_encode_state()
        self.read_state = MotionState()
        self.inputs_seen: set[str] = set()

    def close(self) -> None:
        super().close()
        self.encode_state = self.read_state = None

    @torch.no_grad()
    def step_features(self, audio: np.ndarray, face: np.ndarray | Mapping[str, float] | None = None,
                      emotion: np.ndarray | None = None) -> ListenerFrame:
        """One frame from precomputed speaker features: audio (AUDIO_DIM,), and the face and emotion
        when present (None: absent)."""
        face, emotion = face_frame(face, self.resting), emotion_frame(emotion)
        # The face encoder and reader keep streaming through frames without a face (a resting face
        # fills them), so their bands stay aligned; the generator is told the face is absent.
        f = torch.from_numpy(self.resting if face is None else face)[None, None]
        speaker_token = self.tokenizer.encode_step(f[:, 0], self.encode_state)[:, None]
        read = self.read_emotion and face is not None and emotion is None
        if self.read_emotion:
            reading = self.tokenizer.emotion_reader.step(self.tokenizer.normalize(f), self.read_state)
        e = reading if read else torch.from_numpy(np.zeros(EMOTION_DIM, np.float32) if emotion is None
                                                  else emotion)[None, None]
        on = (torch.ones(1) if face is not None else torch.zeros(1),
              torch.ones(1) if emotion is not None or read else torch.zeros(1))
        a = torch.as_tensor(audio, dtype=torch.float32)[None, None]
        self.generator.speaker_step(self.generator.speaker_embedding(a, f, e, speaker_token, *on), self.state)
        self.inputs_seen.add(describe(face is not None, emotion is not None, read))
        return self._emit(self._next_tokens())

    def step(self, samples: np.ndarray, rate: int, face: np.ndarray | Mapping[str, float] | None = None,
             emotion: np.ndarray | None = None) -> ListenerFrame:
        """One frame from raw audio: `samples` are this frame's int(rate / 25) mono samples in
        [-1, 1]; face and emotion as in step_features."""
        expected = int(rate / FPS)
        if np.shape(samples) != (expected,):
            raise UsageError(f"one frame at {rate} Hz is {expected} mono samples, got shape {np.shape(samples)}")
        return self.step_features(frame_features(samples, rate, 1)[0], face, emotion)


class OfflineSession(_Session):
    """The whole speaker clip is encoded first; the listener is still generated frame by frame.
    face and emotion (whole clips) may be None: absent for the whole clip."""

    @torch.no_grad()
    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, audio: np.ndarray,
                 face: np.ndarray | None = None, emotion: np.ndarray | None = None, samples: int = 10,
                 sampling: Sampling = RECOMMENDED, seed: int = 0, read_emotion: bool = False) -> None:
        frames = len(audio)
        resting = np.tile(tokenizer.face_mean.numpy(), (frames, 1))
        f = torch.as_tensor(resting if face is None else face, dtype=torch.float32)[None]
        read = read_emotion and face is not None and emotion is None
        if read:
            e = tokenizer.emotion_reader(tokenizer.normalize(f))
        else:
            e = torch.as_tensor(np.zeros((frames, EMOTION_DIM), np.float32) if emotion is None else emotion)[None]
        on = (torch.full((1,), float(face is not None)), torch.full((1,), float(emotion is not None or read)))
        self.speaker = (torch.as_tensor(audio, dtype=torch.float32)[None], f, e.float(), on)
        super().__init__(generator, tokenizer, samples, sampling, seed)

    @torch.no_grad()
    def reset(self) -> None:
        super().reset()
        a, f, e, on = self.speaker
        self.generator.prepare_offline(self.generator.speaker_embedding(a, f, e, self.tokenizer.encode(f), *on),
                                       self.state)

    @torch.no_grad()
    def next_frame(self) -> ListenerFrame:
        return self._emit(self._next_tokens())


@torch.no_grad()
def generate_clip(generator: ReactionGenerator, tokenizer: FaceTokenizer, audio: np.ndarray,
                  face: np.ndarray | None = None, emotion: np.ndarray | None = None, samples: int = 10,
                  sampling: Sampling = RECOMMENDED, seed: int = 0,
                  read_emotion: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K reactions to one speaker clip: faces (K, T, FACE_DIM), emotions (K, T, EMOTION_DIM), tokens (K, T).
    face and emotion may be None (absent); see StreamingSession for read_emotion.

    Online models run the streaming session over the clip, so this is what a live stream gives.
    """
    n = len(audio)
    if generator.config.offline:
        offline = OfflineSession(generator, tokenizer, audio, face, emotion, samples, sampling, seed, read_emotion)
        frames = [offline.next_frame() for _ in range(n)]
    else:
        online = StreamingSession(generator, tokenizer, samples, sampling, seed, read_emotion)
        frames = [online.step_features(audio[t], None if face is None else face[t],
                                       None if emotion is None else emotion[t]) for t in range(n)]
    return (np.stack([f.face for f in frames], 1), np.stack([f.emotion for f in frames], 1),
            np.stack([f.tokens for f in frames], 1))
