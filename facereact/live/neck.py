"""A head pose a robot's neck can follow: speed and acceleration limited, per axis.

The generator's head pose changes as fast as a person's can, and a sampled reaction may jump.
Sent straight to a neck's servos, a jump is a jolt (or a fault). `Neck` follows the listener's
pitch, yaw and roll with each axis's speed at most `max_speed` and its change of speed at most
`max_acceleration`, braking ahead of the target so that it does not overshoot; blendshapes (an
avatar's face) pass unchanged. A nod (1.2-3.5 Hz, a few hundredths of a radian: at most
2 pi f A = 0.7 rad/s and (2 pi f)^2 A = 15 rad/s^2) passes within the defaults; a jump of 0.3 rad
takes a third of a second. `to_rest()` brings the head back to rest within the same limits
when a conversation ends.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from facereact.errors import UsageError
from facereact.layout import FPS, ROTATION

MAX_REST_SECONDS = 5.0  # to_rest() gives up after this long (it needs about 2 s from the worst pose)


@dataclass(frozen=True)
class NeckLimits:
    max_speed: float = 2.0  # rad/s per axis: 0.08 rad in a 40 ms frame
    max_acceleration: float = 20.0  # rad/s^2 per axis

    def __post_init__(self) -> None:
        for name in ("max_speed", "max_acceleration"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise UsageError(f"neck {name} must be a positive number, got {value!r}")


class Neck:
    """One conversation's neck: K heads (one per reaction) starting at rest (the head rotation of
    the face `rest`, FACE_DIM), still."""

    def __init__(self, limits: NeckLimits, rest: np.ndarray, samples: int = 1, fps: int = FPS) -> None:
        self.limits, self.dt = limits, 1.0 / fps
        self.rest = np.asarray(rest, np.float64)[ROTATION]
        self.pose = np.tile(self.rest, (samples, 1))  # (K, 3) pitch, yaw, roll
        self.speed = np.zeros_like(self.pose)

    def follow(self, face: np.ndarray) -> np.ndarray:
        """face (K, FACE_DIM) as generated -> a copy whose head rotation is the neck's next pose."""
        out = np.array(face, copy=True)
        out[:, ROTATION] = self._move(np.asarray(face, np.float64)[:, ROTATION])
        return out

    def to_rest(self) -> list[np.ndarray]:
        """The neck's poses (K, 3), frame by frame, from where it is back to rest and still."""
        poses = []
        for _ in range(int(MAX_REST_SECONDS / self.dt)):
            if np.abs(self.pose - self.rest).max() < 1e-4 and np.abs(self.speed).max() < 1e-3:
                break
            poses.append(self._move(np.broadcast_to(self.rest, self.pose.shape)).copy())
        return poses

    def _move(self, target: np.ndarray) -> np.ndarray:
        v, a, dt = self.limits.max_speed, self.limits.max_acceleration, self.dt
        error = target - self.pose
        distance = np.abs(error)
        wanted = np.sign(error) * np.minimum(v, _stopping_speed(distance / dt, a * dt))
        self.speed = np.clip(self.speed + np.clip(wanted - self.speed, -a * dt, a * dt), -v, v)
        self.pose = self.pose + self.speed * dt
        return self.pose.astype(np.float32)


def _stopping_speed(reach: np.ndarray, brake: float) -> np.ndarray:
    """The fastest speed this frame from which slowing by `brake` a frame (v, v - brake, ..., the
    last one >= 0) covers exactly the distance `reach` x dt: no overshoot, in whole frames. With
    n further frames of braking the distance is (n + 1) v - brake n (n + 1) / 2 for v in
    [n brake, (n + 1) brake], which is brake n (n + 1) / 2 at the interval's start: n is the
    largest whole number with that at most `reach`."""
    n = np.floor((np.sqrt(1.0 + 8.0 * reach / brake) - 1.0) / 2.0)
    return (reach + brake * n * (n + 1) / 2) / (n + 1)


def neck_from_hello(value) -> NeckLimits | None:
    """The hello's "neck": absent or true (the defaults), false (no limit: an avatar), or an object
    with max_speed and/or max_acceleration."""
    if value is None or value is True:
        return NeckLimits()
    if value is False:
        return None
    if not isinstance(value, dict) or set(value) - {"max_speed", "max_acceleration"}:
        raise UsageError('neck is true, false or {"max_speed": rad/s, "max_acceleration": rad/s^2}')
    return NeckLimits(**value)
