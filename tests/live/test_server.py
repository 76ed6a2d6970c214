"""The reaction server on 127.0.0.1: frames equal in-process streaming, sessions stay apart, every
bad input gets its error without disturbing a good session, and the limits hold."""
import asyncio
import contextlib
import json

import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from facereact.data.audio import frame_features
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession
from facereact.layout import BLENDSHAPE_NAMES, face_to_tracker
from facereact.live.client import ReactionClient, stream_recording
from facereact.live.server import Limits, ReactionServer

from tests.generator.test_generator import models

RATE, PER = 16000, 640
GUIDED = Sampling(temperature=0.9, guidance=2.0)
FAST = Limits(burst_frames=10_000, sessions=4, message_bytes=8192, idle_seconds=5)


def recording(frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (np.sin(np.arange(frames * PER) / 9.0) * 0.3 + rng.normal(0, 0.05, frames * PER)).astype(np.float32)


def quantised(audio: np.ndarray) -> np.ndarray:
    """What the server hears: the audio after PCM16."""
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").astype(np.float32) / 32768.0


@contextlib.asynccontextmanager
async def running(server: ReactionServer):
    loop = asyncio.get_running_loop()
    ready, stop = loop.create_future(), loop.create_future()
    task = asyncio.create_task(server.run("127.0.0.1", 0, ready, stop))
    port = await asyncio.wait_for(ready, 10)
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        stop.set_result(None)
        await asyncio.wait_for(task, 10)


def tracker_faces(frames: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    faces = []
    for _ in range(frames):
        face = {name: float(v) for name, v in zip(BLENDSHAPE_NAMES, rng.uniform(0, 0.6, len(BLENDSHAPE_NAMES)))}
        faces.append({**face, "pitch": 0.1, "yaw": -0.05, "roll": 0.0})
    return faces


def test_sessions_alone_and_batched_give_their_solo_frames() -> None:
    generator, tokenizer = models()
    frames = 40  # past the tiny model's warm-up (13 frames): the later frames run batched
    audio = [recording(frames, s) for s in range(3)]
    faces = tracker_faces(frames, 5)

    async def main():
        server = ReactionServer(generator, tokenizer, GUIDED, limits=FAST)
        async with running(server) as url:
            alone, _ = await stream_recording(url, audio[0], RATE, samples=1, seed=3, realtime=False)
            together = await asyncio.gather(
                stream_recording(url, audio[1], RATE, samples=1, seed=4, realtime=False),
                stream_recording(url, audio[2], RATE, faces=faces, samples=1, seed=5, realtime=False))
        return server, alone, together

    server, alone, together = asyncio.run(main())
    assert [f["frame"] for f in alone] == list(range(frames))
    # the listener frame's face is the decoded token: compare faces against the solo run's
    solo = StreamingSession(generator, tokenizer, samples=1, sampling=GUIDED, seed=3, read_emotion=True)
    features = frame_features(quantised(audio[0]), RATE, frames)
    expected = [solo.step_features(features[i]) for i in range(frames)]
    for got, want in zip(alone, expected):
        np.testing.assert_allclose(list(got["blendshapes"].values()), want.face[0, :len(BLENDSHAPE_NAMES)],
                                   atol=1e-4)
    for (received, _), seed, face_list, a in zip(together, (4, 5), (None, faces), audio[1:]):
        solo = StreamingSession(generator, tokenizer, samples=1, sampling=GUIDED, seed=seed, read_emotion=True)
        features = frame_features(quantised(a), RATE, frames)
        want = [solo.step_features(features[i], None if face_list is None else face_list[i]) for i in range(frames)]
        assert len(received) == frames
        for got, w in zip(received, want):  # batched beside the other: within float rounding
            np.testing.assert_allclose(list(got["blendshapes"].values()), w.face[0, :len(BLENDSHAPE_NAMES)],
                                       atol=1e-4)
    assert all(not engine.conversations for engine in server.engines.values())


async def _expect_close(url: str, first, code: int, reason: str, **kwargs) -> None:
    async with connect(url, **kwargs) as ws:
        await ws.send(first)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws.recv()
        assert closed.value.rcvd.code == code and reason in closed.value.rcvd.reason


def test_bad_messages_get_their_errors_and_a_good_session_keeps_streaming() -> None:
    generator, tokenizer = models()
    frames = 30
    good_audio = recording(frames, 1)

    async def bad_ones(url: str) -> list[str]:
        await _expect_close(url, b"\x00\x01", 1003, "binary where text is due")
        await _expect_close(url, "{not json", 1008, "malformed JSON")
        await _expect_close(url, json.dumps({"type": "hello", "sample_rate": 7000}), 1008, "sample rate 7000 Hz is below")
        await _expect_close(url, json.dumps({"type": "hello", "samples": 99}), 1008, "samples must be")
        errors = []
        async with ReactionClient(url) as client:
            ws = client.connection
            await ws.send(b"\x00\x01\x02")  # half a PCM16 sample
            await ws.send("[1, 2]")
            await ws.send(json.dumps({"type": "face", "coefficients": [float("nan")] * 58}))
            bad_names = {**tracker_faces(1, 0)[0], "smileHuge": 0.5}
            await client.send_face(bad_names)
            await ws.send(json.dumps({"type": "face", "blendshapes": {"jawOpen": 2.0}}))
            await ws.send(json.dumps({"type": "emotion", "values": [0.0] * 25}))  # no face yet
            await ws.send(json.dumps({"type": "dance"}))
            for _ in range(7):
                errors.append(json.loads(await ws.recv())["error"])
        return errors

    async def main():
        server = ReactionServer(generator, tokenizer, GUIDED, limits=FAST)
        async with running(server) as url:
            good = asyncio.create_task(stream_recording(url, good_audio, RATE, seed=2, realtime=True))
            errors = await bad_ones(url)
            received, latency = await good
        return errors, received, latency

    errors, received, latency = asyncio.run(main())
    for error, expected in zip(errors, ["not whole PCM16", "JSON object", "NaN or infinite", "unknown face names",
                                        "missing face names", "need a face", "unknown message type"]):
        assert expected in error
    assert len(received) == frames and latency.summary()["lost"] == 0


def test_the_token_is_required_and_the_limits_hold() -> None:
    generator, tokenizer = models()
    limits = Limits(sessions=2, message_bytes=4096, burst_frames=5, idle_seconds=1.0)

    async def main():
        server = ReactionServer(generator, tokenizer, GUIDED, limits=limits, token="s3cret")
        async with running(server) as url:
            for headers in (None, {"Authorization": "Bearer wrong"}):
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(url, additional_headers=headers):
                        pass
                assert refused.value.response.status_code == 401
            async with ReactionClient(url + "/?token=s3cret") as a, ReactionClient(url, token="s3cret") as b:
                assert a.ready["type"] == b.ready["type"] == "ready"
                await _expect_close(url, json.dumps({"type": "hello"}), 1013, "limit of 2",
                                    additional_headers={"Authorization": "Bearer s3cret"})
                await a.send_audio(b"\x00" * 8192)  # over message_bytes
                with pytest.raises(ConnectionClosed) as closed:
                    await a.next_frame()
                assert closed.value.rcvd.code == 1009
                with pytest.raises(ConnectionClosed) as closed:
                    for _ in range(20):  # 60 frames at once: far past the burst of 5 and real time
                        await b.send_audio(b"\x00" * 2 * PER * 3)
                    while True:
                        await b.next_frame()
                assert "faster than real time" in closed.value.rcvd.reason
            async with ReactionClient(url, token="s3cret") as idle:
                with pytest.raises(ConnectionClosed) as closed:
                    await idle.next_frame()
                assert "idle" in closed.value.rcvd.reason
            for _ in range(20):  # connect/disconnect cycles leave nothing behind
                async with ReactionClient(url, token="s3cret") as c:
                    await c.send_audio(np.zeros(PER, "<i2").tobytes())
                    await c.next_frame()
            await asyncio.sleep(0.2)
        return server

    server = asyncio.run(main())
    assert not server.live and all(not e.conversations and not e.members for e in server.engines.values())


def test_a_server_off_loopback_needs_a_token() -> None:
    generator, tokenizer = models()
    with pytest.raises(ValueError, match="needs a token"):
        asyncio.run(ReactionServer(generator, tokenizer).run("0.0.0.0", 0))


def test_tracker_frames_round_trip_through_the_protocol() -> None:
    from facereact.live.protocol import parse_face
    face = np.linspace(0, 0.5, 58).astype(np.float32)
    face[52:55] = [0.1, -0.2, 0.05]
    message = {"type": "face", "blendshapes": {k: v for k, v in face_to_tracker(face).items() if k in BLENDSHAPE_NAMES},
               "pitch": 0.1, "yaw": -0.2, "roll": 0.05, "tx": float(face[55]), "ty": float(face[56]),
               "tz": float(face[57])}
    np.testing.assert_allclose(parse_face(message, np.zeros(58, np.float32)), face, atol=1e-6)


def test_frame_messages_name_every_value_to_five_decimals() -> None:
    """The templated frame message is JSON whose named values are the frame's (to 5 decimals), for
    the followed reaction and, on request, all K; a frame with NaN is refused, not sent."""
    from facereact.layout import EMOTION_NAMES, ROTATION, ROTATION_NAMES, TRANSLATION, TRANSLATION_NAMES
    from facereact.live.protocol import frame_message

    rng = np.random.default_rng(0)
    face, emotion = rng.normal(0, 1, (3, 58)).astype(np.float32), rng.random((3, 25)).astype(np.float32)
    message = json.loads(frame_message(12, face, emotion, follow=1, all_samples=True))
    assert (message["type"], message["frame"], len(message["samples"])) == ("frame", 12, 3)
    for reaction, k in ((message, 1), *((m, i) for i, m in enumerate(message["samples"]))):
        assert list(reaction["blendshapes"]) == list(BLENDSHAPE_NAMES) and list(reaction["emotion"]) == list(EMOTION_NAMES)
        np.testing.assert_allclose(list(reaction["blendshapes"].values()), face[k, :52], atol=5e-6)
        np.testing.assert_allclose([reaction["head"][n] for n in ROTATION_NAMES], face[k, ROTATION], atol=5e-6)
        np.testing.assert_allclose([reaction["translation"][n] for n in TRANSLATION_NAMES], face[k, TRANSLATION],
                                   atol=5e-6)
        np.testing.assert_allclose(list(reaction["emotion"].values()), emotion[k], atol=5e-6)
    assert "samples" not in json.loads(frame_message(0, face, emotion))
    face[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        frame_message(0, face, emotion)


def test_an_internal_error_ends_the_conversations_and_the_server_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from facereact.live.engine import ReactionEngine

    generator, tokenizer = models()
    real_tick, failures = ReactionEngine.tick_new, []

    def tick_once_broken(self):  # the first frame of the first conversation fails
        if not failures:
            failures.append(1)
            raise RuntimeError("a bug in a tick")
        return real_tick(self)

    monkeypatch.setattr(ReactionEngine, "tick_new", tick_once_broken)

    async def main():
        async with running(ReactionServer(generator, tokenizer, GUIDED, limits=FAST)) as url:
            async with ReactionClient(url) as first:
                await first.send_audio(np.zeros(PER, "<i2").tobytes())
                with pytest.raises(ConnectionClosed) as closed:
                    await first.next_frame()
            received, _ = await stream_recording(url, recording(5, 0), RATE, realtime=False)
        return closed.value.rcvd, received

    closed, received = asyncio.run(main())
    assert closed.code == 1011 and "reconnect" in closed.reason
    assert len(received) == 5  # the next conversation is served


def test_connections_that_never_say_hello_are_bounded() -> None:
    generator, tokenizer = models()

    async def main():
        async with running(ReactionServer(generator, tokenizer, GUIDED, limits=Limits(sessions=2))) as url:
            silent = [await connect(url) for _ in range(2)]  # connected, no hello yet
            async with connect(url) as third:
                with pytest.raises(ConnectionClosed) as closed:
                    await third.recv()
            for ws in silent:
                await ws.close()
            await asyncio.sleep(0.3)  # their handlers see the close
            async with ReactionClient(url) as later:  # once they are gone, a conversation is served
                ready = later.ready
        return closed.value.rcvd, ready

    closed, ready = asyncio.run(main())
    assert closed.code == 1013 and "waiting to say hello" in closed.reason and ready["type"] == "ready"


def test_the_client_records_every_frame_it_receives(tmp_path, capsys) -> None:
    """`facereact client --out FILE`: one JSON line per listener frame, as the protocol sends it."""
    import threading

    import soundfile as sf

    from facereact.cli import main

    generator, tokenizer = models()
    wav, out = tmp_path / "speaker.wav", tmp_path / "session.jsonl"
    sf.write(str(wav), recording(12, 1), RATE, subtype="PCM_16")
    loop = asyncio.new_event_loop()
    ready, stop = loop.create_future(), loop.create_future()
    server = ReactionServer(generator, tokenizer, GUIDED, limits=FAST)
    thread = threading.Thread(target=loop.run_until_complete, args=(server.run("127.0.0.1", 0, ready, stop),))
    thread.start()
    try:
        port = asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(ready), 10), loop).result(15)
        assert main(["client", "--wav", str(wav), "--url", f"ws://127.0.0.1:{port}", "--fast", "--out", str(out)]) == 0
    finally:
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(None))
        thread.join(15)
    lines = out.read_text().splitlines()
    frames = [json.loads(line) for line in lines]
    assert [f["frame"] for f in frames] == list(range(12)) and all(f["type"] == "frame" for f in frames)
    assert set(frames[0]["blendshapes"]) == set(BLENDSHAPE_NAMES)
    assert "12 listener frames back, 0 lost" in capsys.readouterr().out
