"""Turn-taking: while the listener itself speaks (a robot's own voice), it does not backchannel.

The generator goes on hearing the speaker and sampling its reactions, so its own past stays its
own and listening resumes where a listener would be. What is shown gives way, within `fade_in`
frames, to a held face: the listener's face low-passed over the last `hold_seconds` (its slow
expression and head pose kept; its nods and lip presses, which are fast, gone), still while the
listener speaks; when it stops, the shown face returns to the generated one over `fade_out`
frames. The mouth is left to the robot's lip-sync: what is held is the listener's face before it
spoke.

The state is a few named tensors per conversation, rows clip-major like every stream state (so a
live batch joins, takes, places and restarts it with the others: nn/streaming.py; a new row, all
zeros, holds nothing). Whether a conversation has started is its age's business (the session's `ages`), not
kept here again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from facereact.errors import UsageError
from facereact.nn.streaming import State


@dataclass(frozen=True)
class TurnTaking:
    fade_in: int = 2  # frames (80 ms at 25 fps): a listener who starts speaking stops nodding at once
    fade_out: int = 10  # frames (0.4 s): listening comes back smoothly
    hold_seconds: float = 0.5  # the low-pass's time constant: a 2 Hz nod is cut to a sixth

    def __post_init__(self) -> None:
        for name in ("fade_in", "fade_out"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 250:
                raise UsageError(f"turn-taking {name} must be a whole number of frames in [1, 250], got {value!r}")
        if not isinstance(self.hold_seconds, (int, float)) or not 0.0 < self.hold_seconds <= 10.0:
            raise UsageError(f"turn-taking hold_seconds must be in (0, 10], got {self.hold_seconds!r}")


def init_turns(clips: int, samples: int, face_dim: int, emotion_dim: int) -> State:
    """A new turn state: nothing held, listening (the streaming contract, nn/streaming.py)."""
    rows = clips * samples
    return {"shown": torch.zeros(clips),  # how far the held face is shown, 0 (listening) .. 1 (speaking)
            "calm_face": torch.zeros(rows, face_dim),  # the generated face, low-passed
            "calm_emotion": torch.zeros(rows, emotion_dim),
            "held_face": torch.zeros(rows, face_dim),  # what is shown while the listener speaks
            "held_emotion": torch.zeros(rows, emotion_dim)}


def turn_step(turns: TurnTaking, state: State, face: np.ndarray, emotion: np.ndarray,
              speaking: np.ndarray, first: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray, State]:
    """One frame of C conversations: the generated face (C * K, FACE_DIM) and emotion, `speaking`
    (C,) bool, `first` (C,) bool (this is the conversation's first frame), and their turn state
    (C conversations' rows) -> the face and emotion to show and the next state (new arrays: the
    old may be shared with frames already returned). In numpy: a few dozen small operations a
    frame, which as torch calls cost 150 us of a live step."""
    k = face.shape[0] // speaking.shape[0]
    alpha = 1.0 - math.exp(-1.0 / (turns.hold_seconds * fps))
    shown = state["shown"].numpy()
    calm_face, calm_emotion = state["calm_face"].numpy(), state["calm_emotion"].numpy()
    if not first.any():
        calm_face, calm_emotion = calm_face + alpha * (face - calm_face), calm_emotion + alpha * (emotion - calm_emotion)
    else:  # a conversation's first frame starts its low-pass at its face
        fresh = np.repeat(first, k)[:, None]
        calm_face = np.where(fresh, face, calm_face + alpha * (face - calm_face))
        calm_emotion = np.where(fresh, emotion, calm_emotion + alpha * (emotion - calm_emotion))
    held_face, held_emotion = state["held_face"], state["held_emotion"]
    if not speaking.any() and not shown.any():  # everyone listening: the frame as generated
        out_face, out_emotion = face, emotion
    else:
        # A turn that starts from listening holds the face as it has been lately; one that starts
        # while the last is still fading out keeps what it held, so the shown face never jumps.
        onset = np.repeat(speaking & (shown == 0), k)[:, None]
        held_face = torch.from_numpy(np.where(onset, calm_face, held_face.numpy()))
        held_emotion = torch.from_numpy(np.where(onset, calm_emotion, held_emotion.numpy()))
        shown = np.clip(np.where(speaking, shown + 1.0 / turns.fade_in, shown - 1.0 / turns.fade_out), 0.0, 1.0)
        weight = np.repeat(shown * shown * (3.0 - 2.0 * shown), k)[:, None]  # eased: no kink at a fade's ends
        out_face = face + weight * (held_face.numpy() - face)
        out_emotion = emotion + weight * (held_emotion.numpy() - emotion)
    as_tensor = lambda x, dtype=np.float32: torch.from_numpy(np.asarray(x, dtype))  # noqa: E731
    next_state = {"shown": as_tensor(shown), "calm_face": as_tensor(calm_face), "calm_emotion": as_tensor(calm_emotion),
                  "held_face": held_face, "held_emotion": held_emotion}
    return out_face.astype(np.float32, copy=False), out_emotion.astype(np.float32, copy=False), next_state


def speaking_frames(spans: list[tuple[float, float]], frames: int, fps: float) -> np.ndarray:
    """(frames,) bool: the frames inside any of the (start, end) spans in seconds."""
    t = np.arange(frames) / fps
    out = np.zeros(frames, bool)
    for start, end in spans:
        out |= (t >= start) & (t < end)
    return out
