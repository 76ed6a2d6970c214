"""What a face tracker does to a face on its way into the files: noise, jitter, lost frames.

Our synthetic faces are clean; a real tracker's 3DMM and emotion columns are not. The faults are
drawn from their own random stream, so a world without them writes the very files it always did.
"""
from __future__ import annotations

import numpy as np

from facereact.layout import N_BLENDSHAPES
from facereact.synth.world import World

MEAN_BURST = 5  # frames in a run of lost frames (a turned head, a hand in front of the face)


def tracker_seed(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """A session's tracker faults' own stream: a child key spawn() never reaches, so the people
    and voices of a world with faults are those of the same world without."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 2 ** 31))


def lost_frames(frames: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """(frames,) bool: True where the tracker lost the face, in bursts averaging MEAN_BURST frames,
    about `share` of the clip; never the first frame (there is nothing earlier to repeat)."""
    lost = np.zeros(frames, dtype=bool)
    if share <= 0.0:
        return lost
    # Bursts start at rate share / MEAN_BURST per tracked frame; lengths are geometric.
    starts = np.flatnonzero(rng.random(frames) < share / MEAN_BURST)
    for start in starts[starts > 0]:
        lost[start:start + rng.geometric(1.0 / MEAN_BURST)] = True
    return lost


def hold_lost(values: np.ndarray, lost: np.ndarray) -> np.ndarray:
    """Each lost frame repeats the last tracked one (what trackers write when they lose a face)."""
    index = np.where(lost, 0, np.arange(len(values)))
    np.maximum.accumulate(index, out=index)
    return values[index]


def as_tracked(face: np.ndarray, emotion: np.ndarray, world: World,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The face (T, FACE_DIM) and emotion (T, EMOTION_DIM) as the world's tracker writes them:
    noise on the blendshapes and emotions (clipped to their ranges), jitter on the head pose,
    lost frames held. Unchanged (no draws) in a world with a perfect tracker."""
    if not (world.tracker_noise or world.tracker_jitter or world.dropped_frames):
        return face, emotion
    face, emotion = face.astype(np.float64), emotion.astype(np.float64)
    if world.tracker_noise:
        face[:, :N_BLENDSHAPES] = np.clip(
            face[:, :N_BLENDSHAPES] + rng.normal(0.0, world.tracker_noise, face[:, :N_BLENDSHAPES].shape), 0.0, 1.0)
        low, high = emotion.min(0, initial=0.0), emotion.max(0, initial=1.0)
        emotion = np.clip(emotion + rng.normal(0.0, world.tracker_noise, emotion.shape), low, high)
    if world.tracker_jitter:
        face[:, N_BLENDSHAPES:] += rng.normal(0.0, world.tracker_jitter, face[:, N_BLENDSHAPES:].shape)
    lost = lost_frames(len(face), world.dropped_frames, rng)
    return hold_lost(face, lost).astype(np.float32), hold_lost(emotion, lost).astype(np.float32)
