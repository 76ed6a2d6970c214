"""Reading the 25 emotion columns off a decoded face: each frame's face and how much it moved.

Arousal follows how much a face moves, so the reader sees, beside the frame itself, the mean
absolute frame-to-frame change of every channel over the last 0.2, 0.5 and 1 s (motion energy).
A frame-wise network over these features reads a generated face the way it reads a real one. A
transformer over the token vectors learned cues of the real faces' token paths that sampled paths
lack: on the demo's generated reactions its arousal correlated 0.20 with the real listener's, this
reader's 0.36 (docs/tokenizer.md).

Only past frames count, so the reader is online-safe and `step` streams it frame by frame with the
same numbers as the parallel forward.
"""
from __future__ import annotations


import numpy as np
import torch
from torch import nn

from facereact.layout import FPS
from facereact.nn.streaming import State

MOTION_SECONDS = (0.2, 0.5, 1.0)


def motion_windows(fps: int = FPS) -> tuple[int, ...]:
    """The motion windows in frames at a corpus's frame rate."""
    return tuple(max(1, round(s * fps)) for s in MOTION_SECONDS)


# Frames of a training window before the longest motion window is full: their motion energy is
# cut off by the window, not by the face, so they are not scored (scoring them taught the reader
# to distrust motion: in a 10-epoch trial the generated reactions' arousal correlation fell from
# 0.34 to 0.24). These two are at 25 fps; a reader keeps its own (`windows`, `history`).
MOTION_WINDOWS = motion_windows()
MOTION_HISTORY = max(MOTION_WINDOWS)


def motion_energy(face: torch.Tensor, windows: tuple[int, ...] = MOTION_WINDOWS) -> torch.Tensor:
    """(B, T, C) -> (B, T, C * len(windows)): mean |change| over each window ending at t.
    The first frame has no change; windows reaching before the clip count the missing frames as
    still, as a streaming reader must."""
    change = torch.zeros_like(face)
    change[:, 1:] = (face[:, 1:] - face[:, :-1]).abs()
    total = change.cumsum(1)
    parts = []
    for w in windows:
        summed = total.clone()
        summed[:, w:] = total[:, w:] - total[:, :-w]
        parts.append(summed / w)
    return torch.cat(parts, -1)


class FaceEmotionReader(nn.Module):
    """Frame-wise MLP over (normalised face, motion energy) -> emotion."""

    def __init__(self, face_dim: int, emotion_dim: int, width: int, layers: int, fps: int = FPS) -> None:
        super().__init__()
        self.windows = motion_windows(fps)  # the same seconds at any frame rate
        self.history = max(self.windows)
        sizes = [face_dim * (1 + len(self.windows))] + [width] * layers
        parts: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            parts += [nn.Linear(a, b), nn.GELU()]
        self.net = nn.Sequential(*parts, nn.Linear(sizes[-1], emotion_dim))

    def forward(self, face: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([face, motion_energy(face, self.windows)], -1))

    def init_state(self, rows: int, face_dim: int) -> State:
        """A new stream: its last face unknown (NaN: the first frame's change counts as none) and
        its last `history` frame-to-frame changes zeros (frames before a clip count as still, as in
        the parallel forward), so rows of any age have the same shape."""
        return {"face": torch.full((rows, 1, face_dim), float("nan")),
                "changes": torch.zeros(rows, self.history, face_dim)}

    def step(self, face: torch.Tensor, state: State, rows: np.ndarray | None = None) -> torch.Tensor:
        """face (B, 1, C), the next frame of every row of the state or of `rows` of it; the state
        keeps the last face and the last `history` changes, in place."""
        index = slice(None) if rows is None else torch.from_numpy(rows)
        change = torch.nan_to_num((face - state["face"][index]).abs(), nan=0.0)
        changes = torch.cat([state["changes"][index, 1:], change], 1)
        state["face"][index], state["changes"][index] = face, changes
        energy = [changes[:, -w:].sum(1, keepdim=True) / w for w in self.windows]
        return self.net(torch.cat([face, *energy], -1))
