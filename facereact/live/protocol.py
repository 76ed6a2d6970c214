"""The live protocol's messages (docs/live.md): parsed and checked here, so that every bad message
becomes one ProtocolError with a reason the client can read, never an exception deep in torch.

Client -> server, over one WebSocket per conversation:
- text {"type": "hello", "sample_rate": 16000, "channels": 1, "samples": K, "seed": 0,
  "all_samples": false, "neck": true} first, once ("neck": the head pose's limits, live/neck.py:
  true for the defaults, false for none, or {"max_speed": rad/s, "max_acceleration": rad/s^2};
  "personality": who the listener is, for a personal model: {"Extraversion": 0.8, ...} the Big
  Five in [0, 1], or five numbers in that order; absent: unknown, generator/personality.py);
- binary: the speaker's audio, PCM16 little-endian, channels interleaved, chunks of any size;
- text {"type": "face", ...}: the speaker's face from now on, as "coefficients" (FACE_DIM numbers) or
  as a tracker gives it ("blendshapes": {ARKit name: score}, "pitch", "yaw", "roll" in radians, and
  optionally "tx", "ty", "tz"); {"type": "face", "lost": true} when the tracker loses the face;
- text {"type": "emotion", "values": [EMOTION_DIM numbers]} (only with a face), {"type": "bye"};
- text {"type": "turn", "speaking": true} when the listener itself starts speaking (the robot's
  own voice: no backchannels, its face held, generator/turns.py), {"type": "turn", "speaking":
  false} when it stops; from the next audio frame on.

Server -> client: {"type": "ready", ...} after the hello, then one {"type": "frame", ...} per 1/25 s of
audio received, and {"type": "error", "error": reason} for a message it refused.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from facereact.data.audio import check_rate
from facereact.errors import DataError, UsageError
from facereact.generator.personality import personality_values
from facereact.layout import (BLENDSHAPE_NAMES, EMOTION_DIM, EMOTION_NAMES, FACE_DIM, FPS, N_BLENDSHAPES, ROTATION,
                              ROTATION_NAMES, TRANSLATION, TRANSLATION_NAMES, face_from_tracker)
from facereact.live.neck import NeckLimits, neck_from_hello

MAX_CHANNELS = 8


class ProtocolError(ValueError):
    """A message the server refuses; `fatal` ones end the conversation (close code 1008 or 1003)."""

    def __init__(self, reason: str, fatal: bool = False, code: int = 1008) -> None:
        super().__init__(reason)
        self.reason, self.fatal, self.code = reason, fatal, code


@dataclass(frozen=True)
class Hello:
    sample_rate: int
    channels: int = 1
    samples: int = 1
    seed: int = 0
    all_samples: bool = False
    neck: NeckLimits | None = NeckLimits()  # None: the head pose goes out as generated (an avatar)
    personality: tuple[float, ...] | None = None  # the listener's Big Five in [0, 1]; None: unknown

    @property
    def frame_samples(self) -> int:
        """Audio samples (per channel) in one 1/25 s frame."""
        return int(self.sample_rate / FPS)


def parse_json(text: str) -> dict:
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"malformed JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError('a text message is a JSON object with a "type"')
    return message


def _integer(message: dict, key: str, default: int, low: int, high: int) -> int:
    value = message.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(f"hello: {key} must be an integer in [{low}, {high}], got {value!r}", fatal=True)
    return value


def parse_hello(message: dict, max_samples: int) -> Hello:
    if message["type"] != "hello":
        raise ProtocolError(f'the first message must be {{"type": "hello", ...}}, got type {message["type"]!r}',
                            fatal=True)
    rate = _integer(message, "sample_rate", 16000, 1, 384000)
    try:
        check_rate(rate)
    except DataError as exc:
        raise ProtocolError(f"hello: {exc.problem}", fatal=True) from None
    all_samples = message.get("all_samples", False)
    if not isinstance(all_samples, bool):
        raise ProtocolError("hello: all_samples must be true or false", fatal=True)
    try:
        neck = neck_from_hello(message.get("neck"))
    except UsageError as exc:
        raise ProtocolError(f"hello: {exc}", fatal=True) from None
    try:
        personality = personality_values(message.get("personality"))
    except UsageError as exc:
        raise ProtocolError(f"hello: {exc}", fatal=True) from None
    return Hello(rate, _integer(message, "channels", 1, 1, MAX_CHANNELS),
                 _integer(message, "samples", 1, 1, max_samples), _integer(message, "seed", 0, 0, 2 ** 31 - 1),
                 all_samples, neck, None if personality is None else tuple(float(v) for v in personality))


def pcm16_to_mono(data: bytes, channels: int) -> np.ndarray:
    """Interleaved PCM16 little-endian -> mono float32 in [-1, 1]."""
    step = 2 * channels
    if len(data) % step:
        raise ProtocolError(f"audio chunk of {len(data)} bytes is not whole PCM16 frames of {channels} channel(s)")
    pcm = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return pcm.reshape(-1, channels).mean(1) if channels > 1 else pcm


def _numbers(values, length: int, what: str) -> np.ndarray:
    if not isinstance(values, list) or len(values) != length:
        raise ProtocolError(f"{what} must be a list of {length} numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ProtocolError(f"{what} must hold numbers only")
    array = np.asarray(values, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ProtocolError(f"{what} holds NaN or infinite values")
    return array.astype(np.float32)


def parse_face(message: dict, resting: np.ndarray) -> np.ndarray | None:
    """A face message -> (FACE_DIM,) float32, or None when the tracker lost the face."""
    if message.get("lost") is True:
        return None
    if "coefficients" in message:
        return _numbers(message["coefficients"], FACE_DIM, "face coefficients")
    shapes = message.get("blendshapes")
    if not isinstance(shapes, dict):
        raise ProtocolError('a face message has "coefficients", or "blendshapes" with "pitch", "yaw", "roll", '
                            'or "lost": true')
    scores: dict[str, float] = {}
    for name, value in list(shapes.items()) + [(k, message[k]) for k in ROTATION_NAMES + TRANSLATION_NAMES
                                               if k in message]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ProtocolError(f"face value {name!r} must be a finite number, got {value!r}")
        scores[name] = float(value)
    try:
        return face_from_tracker(scores, resting[TRANSLATION])
    except ValueError as exc:
        raise ProtocolError(f"face: {exc}") from None


def parse_turn(message: dict) -> bool:
    """A turn message -> whether the listener speaks from now on."""
    speaking = message.get("speaking")
    if not isinstance(speaking, bool):
        raise ProtocolError('a turn message is {"type": "turn", "speaking": true or false}')
    return speaking


def parse_emotion(message: dict) -> np.ndarray:
    return _numbers(message.get("values"), EMOTION_DIM, "emotion values")


def frame_message(index: int, face: np.ndarray, emotion: np.ndarray, follow: int = 0,
                  all_samples: bool = False) -> str:
    """The listener frame the client follows (reaction `follow` of K), and all K on request."""
    message = f'{{"type": "frame", "frame": {int(index)}, {_reaction(face[follow], emotion[follow])}'
    if all_samples:
        message += ', "samples": [' + ", ".join("{" + _reaction(f, e) + "}" for f, e in zip(face, emotion)) + "]"
    return message + "}"


def _frame_template() -> str:
    groups = (("blendshapes", BLENDSHAPE_NAMES), ("head", ROTATION_NAMES), ("translation", TRANSLATION_NAMES),
              ("emotion", EMOTION_NAMES))
    return ", ".join(f'"{group}": {{' + ", ".join(f"{json.dumps(name)}: %.5f" for name in names) + "}"
                     for group, names in groups)


_TEMPLATE = _frame_template()  # one reaction's named values, 5 decimals each


def _reaction(face: np.ndarray, emotion: np.ndarray) -> str:
    """One reaction's named values as JSON object members, formatted in one call of a precomputed
    template: a server sends one per conversation per frame, and json.dumps of the nested dicts
    (97 us) was a third of a conversation's share of a tick."""
    values = np.concatenate([face[:N_BLENDSHAPES], face[ROTATION], face[TRANSLATION], emotion])
    if not np.isfinite(values).all():  # never expected from a model; and not valid JSON
        raise ValueError("a listener frame holds NaN or inf")
    return _TEMPLATE % tuple(values.tolist())
