"""What the speaker stream hears: audio always; the face and the emotion when there are any.

A robot has a microphone, maybe a camera with a face tracker, never hand-labelled emotion. The
generator marks each absent input as absent (generator/model.py), so these input sets are one
model's, not three models':

- "full": audio, face and emotion, as the REACT corpus gives them;
- "audio+face": audio and a tracked face, no emotion;
- "audio+face+read": the same, with the speaker's emotion read off the face by the tokenizer's
  face-to-emotion reader (the reader that decodes listener tokens);
- "audio": audio alone.

A face frame comes either as the FACE_DIM coefficients or as a tracker gives it: ARKit blendshape
names with scores, head rotation as pitch, yaw, roll and, optionally, translation tx, ty, tz
(layout.face_from_tracker).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from facereact.errors import UsageError
from facereact.layout import EMOTION_DIM, FACE_DIM, TRANSLATION, face_from_tracker

INPUT_SETS = ("full", "audio+face", "audio+face+read", "audio")


def uses(input_set: str) -> tuple[bool, bool, bool]:
    """(face given, emotion given, emotion read off the face) for an input set's name."""
    if input_set not in INPUT_SETS:
        raise UsageError(f"unknown input set {input_set!r}, expected one of {', '.join(INPUT_SETS)}")
    return input_set != "audio", input_set == "full", input_set == "audio+face+read"


def face_frame(face: np.ndarray | Mapping[str, float] | None, resting: np.ndarray) -> np.ndarray | None:
    """One speaker face frame as (FACE_DIM,) float32, from coefficients or tracker names; None stays
    None (no face). `resting` (FACE_DIM,) gives the translation a tracker leaves out."""
    if face is None:
        return None
    if isinstance(face, Mapping):
        try:
            return face_from_tracker(face, resting[TRANSLATION])
        except ValueError as exc:
            raise UsageError(f"face frame: {exc}") from None
    array = np.asarray(face, dtype=np.float32)
    if array.shape != (FACE_DIM,):
        raise UsageError(f"a face frame is {FACE_DIM} coefficients or tracker names, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise UsageError("face frame holds NaN or infinite values")
    return array


def emotion_frame(emotion: np.ndarray | None) -> np.ndarray | None:
    if emotion is None:
        return None
    array = np.asarray(emotion, dtype=np.float32)
    if array.shape != (EMOTION_DIM,) or not np.isfinite(array).all():
        raise UsageError(f"an emotion frame is {EMOTION_DIM} finite values, got shape {array.shape}")
    return array


def describe(face: bool, emotion: bool, read: bool) -> str:
    """The input set's name for what a stream was given."""
    if not face:
        return "audio"
    return "full" if emotion else ("audio+face+read" if read else "audio+face")
