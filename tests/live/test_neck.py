"""The neck: no served head step above its speed, no change of speed above its acceleration, nods
pass, jumps are ramped, and the head goes back to rest when a conversation ends."""
import asyncio

import numpy as np
import pytest

from facereact.errors import UsageError
from facereact.layout import FACE_DIM, FPS, ROTATION
from facereact.live.client import ReactionClient
from facereact.live.neck import Neck, NeckLimits, neck_from_hello
from facereact.live.server import ReactionServer

from tests.generator.test_generator import models
from tests.live.test_server import FAST, GUIDED, RATE, recording, running

STEP = 2.0 / FPS  # the default speed's largest step: 0.08 rad


def _follow(neck: Neck, poses: np.ndarray) -> np.ndarray:
    """poses (T, K, 3) -> the neck's (T, K, 3)."""
    out = []
    for pose in poses:
        face = np.zeros((pose.shape[0], FACE_DIM), np.float32)
        face[:, ROTATION] = pose
        face[:, 0] = 0.7  # a blendshape, which the neck leaves alone
        followed = neck.follow(face)
        assert np.array_equal(followed[:, 0], face[:, 0])
        out.append(followed[:, ROTATION])
    return np.array(out)


def _steps(poses: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    path = np.concatenate([start[None], poses])
    speed = np.diff(path, axis=0) * FPS
    speeds = np.concatenate([np.zeros_like(speed[:1]), speed])
    return np.abs(np.diff(path, axis=0)), np.abs(np.diff(speeds, axis=0)) * FPS


def test_jumps_are_ramped_within_the_limits_and_land_without_overshoot() -> None:
    rng = np.random.default_rng(0)
    targets = np.repeat(rng.uniform(-0.5, 0.5, (8, 3, 3)), 25, axis=0)  # a new pose every second, jumps up to 1 rad
    neck = Neck(NeckLimits(), np.zeros(FACE_DIM), samples=3)
    got = _follow(neck, targets)
    step, acceleration = _steps(got, np.zeros((3, 3)))
    assert step.max() <= STEP + 1e-6 and acceleration.max() <= 20.0 + 1e-3
    assert step.max() > 0.9 * STEP  # the limit was reached: the jumps were ramped, not passed
    for second in range(8):  # each pose reached within the second, never passed by more than rounding
        np.testing.assert_allclose(got[second * 25 + 24], targets[second * 25], atol=1e-5)
        before = targets[second * 25 - 1] if second else np.zeros((3, 3))
        low, high = np.minimum(before, targets[second * 25]), np.maximum(before, targets[second * 25])
        within = got[second * 25:(second + 1) * 25]
        assert ((within >= low - 1e-5) & (within <= high + 1e-5)).all()


def test_a_nod_passes_and_the_head_goes_back_to_rest() -> None:
    t = np.arange(75) / FPS
    pitch = 0.04 * np.sin(2 * np.pi * 2.0 * t)  # a 2 Hz nod: 0.5 rad/s, 6.3 rad/s^2 at most
    nod = np.zeros((75, 1, 3))
    nod[:, 0, 0] = pitch
    neck = Neck(NeckLimits(), np.zeros(FACE_DIM))
    got = _follow(neck, nod)
    assert np.abs(got[10:, 0, 0] - pitch[10:]).max() < 0.2 * 0.04  # within a fifth of its amplitude
    neck = Neck(NeckLimits(), np.zeros(FACE_DIM))
    _follow(neck, np.full((10, 1, 3), 0.3))
    rest = np.array(neck.to_rest())
    step, acceleration = _steps(rest, neck.pose * 0 + rest[0] - (rest[1] - rest[0]))
    assert 5 < len(rest) < 3 * FPS and np.abs(rest[-1]).max() < 1e-4 and step.max() <= STEP + 1e-6
    assert neck.to_rest() == []  # at rest already


def test_limits_are_checked_and_read_from_a_hello() -> None:
    with pytest.raises(UsageError, match="max_speed"):
        NeckLimits(max_speed=0)
    with pytest.raises(UsageError, match="max_acceleration"):
        NeckLimits(max_acceleration=float("nan"))
    assert neck_from_hello(None) == neck_from_hello(True) == NeckLimits()
    assert neck_from_hello(False) is None
    assert neck_from_hello({"max_speed": 1.0}) == NeckLimits(max_speed=1.0)
    with pytest.raises(UsageError, match="neck is"):
        neck_from_hello({"speed": 1.0})


def _served(neck, on_frame=None, frames: int = 40) -> list[dict]:
    generator, tokenizer = models()

    async def main():
        server = ReactionServer(generator, tokenizer, GUIDED, limits=FAST, on_frame=on_frame)
        async with running(server) as url:
            async with ReactionClient(url, RATE, samples=2, seed=1, all_samples=True, neck=neck) as client:
                pcm = (recording(frames, 2) * 32767).astype("<i2").tobytes()
                for start in range(0, len(pcm), 1280):  # a frame a message (the limits allow 8 kB)
                    await client.send_audio(pcm[start:start + 1280])
                got = [await client.next_frame() for _ in range(frames)]
            await asyncio.sleep(1.5)  # the closed conversation's head going back to rest (on_frame)
        return got

    return asyncio.run(main())


def test_no_served_head_step_exceeds_the_neck_and_the_head_rests_after() -> None:
    """The tiny model's heads jump (its faces are in units of 1); served, no step of any reaction
    passes 0.08 rad, and without the neck (an avatar) they do; after the conversation, what
    on_frame drives (a robot) comes back to rest."""
    driven: list[np.ndarray] = []
    limited = _served(None, on_frame=lambda cid, index, face, emotion: driven.append(face[:, ROTATION].copy()))
    free = _served(False)

    def heads(frames):
        return np.array([[[r["head"][k] for k in ("pitch", "yaw", "roll")] for r in f["samples"]] for f in frames])

    assert np.abs(np.diff(heads(limited), axis=0)).max() <= STEP + 2e-5  # 5 decimals on the wire
    assert np.abs(np.diff(heads(free), axis=0)).max() > 2 * STEP
    rest = np.array(driven[40:])
    assert len(rest) > 3 and np.abs(np.diff(np.array(driven), axis=0)).max() <= STEP + 1e-6
    generator, tokenizer = models()
    np.testing.assert_allclose(rest[-1], np.broadcast_to(tokenizer.face_mean.numpy()[ROTATION], rest[-1].shape),
                               atol=1e-4)
