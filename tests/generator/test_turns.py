"""Turn-taking: while the listener speaks it does not backchannel, the generator underneath is
undisturbed, listening resumes along the eased fade, and a batch keeps each conversation's turns."""
import argparse
import asyncio

import numpy as np
import pytest

from facereact.cli.flags import time_spans
from facereact.errors import UsageError
from facereact.generator.cohort import merge, restart
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession
from facereact.generator.turns import TurnTaking, speaking_frames
from facereact.layout import FPS, face_index
from facereact.live.client import stream_recording
from facereact.live.protocol import ProtocolError, parse_turn
from facereact.live.server import ReactionServer
from facereact.metrics.behaviour import NOD_BAND_HZ, band_pass, nod_onsets

from tests.generator.test_generator import models, speaker
from tests.live.test_server import FAST, RATE, recording, running

SAMPLING = Sampling(temperature=1.0, guidance=2.0)
TURNS = TurnTaking()


def _stream(speaking: np.ndarray | None, frames: int, seed: int = 3, samples: int = 4):
    generator, tokenizer = models()
    audio = speaker(frames, seed=seed)[0]
    session = StreamingSession(generator, tokenizer, samples, SAMPLING, seed=seed)
    out = [session.step_features(audio[t], speaking=bool(speaking is not None and speaking[t])) for t in range(frames)]
    return (np.stack([f.face for f in out], 1), np.stack([f.emotion for f in out], 1),
            np.stack([f.tokens for f in out], 1))


def _weights(shown: np.ndarray, generated: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Per frame, the least-squares w in shown = generated + w (held - generated), over every value."""
    d = (held - generated).reshape(held.shape[0], -1)
    return ((shown - generated).reshape(d.shape) * d).sum(1) / (d * d).sum(1)


def test_a_speaking_listener_holds_its_face_and_the_generator_underneath_is_undisturbed() -> None:
    frames = 150
    spans = [(2.0, 3.6), (4.4, 5.2)]
    speaking = speaking_frames(spans, frames, FPS)
    face, emotion, tokens = _stream(speaking, frames)
    plain_face, plain_emotion, plain_tokens = _stream(None, frames)
    np.testing.assert_array_equal(tokens, plain_tokens)  # the same reactions sampled underneath
    (a, b), (c, d) = [(int(s * FPS), int(e * FPS)) for s, e in spans]
    # before the first turn, the frames as generated, exactly
    np.testing.assert_array_equal(face[:, :a], plain_face[:, :a])
    np.testing.assert_array_equal(emotion[:, :a], plain_emotion[:, :a])
    # after the fade-in, still: not one value moves while the listener speaks
    for start, end in ((a, b), (c, d)):
        held = face[:, start + TURNS.fade_in:end]
        np.testing.assert_allclose(held, np.broadcast_to(held[:, :1], held.shape), atol=1e-6)
    # the held face is the generated face low-passed, not the frame the turn began on (mid-nod)
    assert np.abs(face[:, a + 2] - plain_face[:, a - 1]).max() > 1e-3
    # no nodding while speaking: the untrained listener's head moves in the nodding band all the
    # time, the speaking one's not at all
    span = slice(a + TURNS.fade_in, b)
    nodding = lambda f: np.abs(band_pass(f[..., face_index("pitch")], FPS, NOD_BAND_HZ)).max()  # noqa: E731
    assert nodding(plain_face[:, span]) > 1e-3 and nodding(face[:, span]) < 1e-6
    assert nod_onsets(face[:, span], FPS).sum() == 0
    # listening resumes along the eased fade: the held face's share falls 1 -> 0 over fade_out frames
    n = TURNS.fade_out
    share = 1.0 - np.arange(1, n + 1) / n
    eased = share * share * (3 - 2 * share)
    got = _weights(face[0, b:b + n], plain_face[0, b:b + n], np.broadcast_to(face[0, b - 1], (n, face.shape[-1])))
    np.testing.assert_allclose(got, eased, atol=1e-4)
    # the second turn starts while the first still fades out? no: listening (c - b frames) ran past
    # the fade, so the second holds afresh, its own face
    assert c - b > n and np.abs(face[0, c + 2] - face[0, b - 1]).max() > 1e-3


def test_a_turn_that_starts_during_a_fade_out_keeps_what_it_held() -> None:
    frames = 60
    speaking = speaking_frames([(0.8, 1.4), (1.6, 2.0)], frames, FPS)  # 5 frames between: inside the fade
    face = _stream(speaking, frames)[0]
    first, second = face[:, 34], face[:, 48]  # both held
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_conversations_in_a_batch_keep_their_own_turns_through_joins_and_restarts() -> None:
    generator, tokenizer = models()
    frames, samples = 50, 2
    audio = [speaker(frames, seed=s)[0] for s in range(3)]
    talk = [speaking_frames(spans, frames, FPS) for spans in ([(0.6, 1.2)], [(0.2, 0.8), (1.4, 1.7)], [])]

    def solo(i: int, seed: int, start: int = 0):
        session = StreamingSession(generator, tokenizer, samples, SAMPLING, seed=seed)
        return [session.step_features(audio[i][t], speaking=talk[i][t - start]) for t in range(start, frames)]

    want = [solo(0, 10), solo(1, 11)]
    sessions = [StreamingSession(generator, tokenizer, samples, SAMPLING, seed=10 + i) for i in range(2)]
    for i, s in enumerate(sessions):
        s.step_features(audio[i][0], speaking=talk[i][0])
    batch = merge(sessions)
    for t in range(1, frames):  # conversation 1 skips frames 20-24 (late), then catches up at its own pace
        if 20 <= t < 25:
            frame = batch.step_clips(audio[0][t][None], active=np.array([0]), speaking=talk[0][t:t + 1])
            np.testing.assert_allclose(frame.face, want[0][t].face, atol=1e-5)
            continue
        lag = 5 if t >= 25 else 0
        frame = batch.step_clips(np.stack([audio[0][t], audio[1][t - lag]]), speaking=np.array([talk[0][t], talk[1][t - lag]]))
        np.testing.assert_allclose(frame.face[:samples], want[0][t].face, atol=1e-5)
        np.testing.assert_allclose(frame.face[samples:], want[1][t - lag].face, atol=1e-5)
    # conversation 1 ends mid-turn state; a new one restarts in its slot: it starts listening, unheld
    restart(batch, [1], [12])
    fresh = solo(2, 12, 0)
    for t in range(10):
        frame = batch.step_clips(np.stack([audio[0][min(frames - 1, t)], audio[2][t]]),
                                 speaking=np.array([False, talk[2][t]]))
        np.testing.assert_allclose(frame.face[samples:], fresh[t].face, atol=1e-5)


def test_turns_refused_where_they_cannot_be() -> None:
    generator, tokenizer = models()
    a = speaker(2)[0]
    scoring = StreamingSession(generator, tokenizer, 2, SAMPLING, turns=None)
    with pytest.raises(UsageError, match="without turn-taking"):
        scoring.step_features(a[0], speaking=True)
    session = StreamingSession(generator, tokenizer, 2, SAMPLING, seeds=[0, 1])
    with pytest.raises(UsageError, match="one flag per conversation"):
        session.step_clips(np.stack([a[0], a[0]]), speaking=np.array([True]))
    for bad in ({"fade_in": 0}, {"fade_out": 1.5}, {"hold_seconds": 0.0}):
        with pytest.raises(UsageError):
            TurnTaking(**bad)


def test_the_server_holds_the_face_while_the_client_says_the_listener_speaks() -> None:
    generator, tokenizer = models()
    frames = 60
    speaking = speaking_frames([(0.8, 1.8)], frames, FPS)

    async def main():
        async with running(ReactionServer(generator, tokenizer, SAMPLING, limits=FAST)) as url:
            return await asyncio.gather(
                stream_recording(url, recording(frames, 1), RATE, samples=2, seed=3, realtime=False,
                                 speaking=speaking),
                stream_recording(url, recording(frames, 1), RATE, samples=2, seed=3, realtime=False))

    (talking, _), (listening, _) = asyncio.run(main())
    pitch = np.array([[f["head"]["pitch"] for f in run] for run in (talking, listening)])
    smile = np.array([[f["blendshapes"]["mouthSmileLeft"] for f in run] for run in (talking, listening)])
    held = slice(35, 45)  # the turn from frame 20, and the neck (on by default) landed on the held pose
    assert np.ptp(pitch[0, held]) < 1e-4 and np.ptp(smile[0, held]) < 1e-4
    assert np.ptp(pitch[1, held]) > 1e-3  # the same conversation, the listener silent: it moves
    np.testing.assert_allclose(pitch[0, :20], pitch[1, :20], atol=1e-4)  # before the turn: the same frames


def test_turn_messages_and_spans_are_checked() -> None:
    assert parse_turn({"type": "turn", "speaking": True}) is True
    for bad in ({"type": "turn"}, {"type": "turn", "speaking": 1}, {"type": "turn", "speaking": "yes"}):
        with pytest.raises(ProtocolError, match="speaking"):
            parse_turn(bad)
    assert time_spans("4-7.5, 12-15") == [(4.0, 7.5), (12.0, 15.0)]
    for bad in ("4", "7-4", "a-b", "-1-2"):
        with pytest.raises(argparse.ArgumentTypeError):
            time_spans(bad)
    np.testing.assert_array_equal(np.flatnonzero(speaking_frames([(0.1, 0.2)], 10, FPS)), [3, 4])


def test_a_replay_marks_the_listeners_turns_frame_by_frame(tmp_path) -> None:
    """`facereact stream --speaking` (generator/stream.replay): the flags reach each step."""
    import soundfile as sf

    from facereact.generator.stream import replay

    class Listener:
        fps, inputs_seen, flags = FPS, {"audio"}, []

        def check_rate(self, rate: int) -> None:
            pass

        def step(self, samples, rate, face=None, speaking=False):
            self.flags.append(speaking)

    sf.write(tmp_path / "s.wav", np.zeros(16000), 16000)
    listener = Listener()
    replay(listener, tmp_path / "s.wav", realtime=False, speaking=[(0.2, 0.4)])
    assert np.flatnonzero(listener.flags).tolist() == list(range(5, 10)) and len(listener.flags) == 25
