"""A Python client of `facereact serve`, and `facereact client`: stream a recording in real time and
measure how long each listener frame takes to come back."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from facereact.layout import FPS


class ReactionClient:
    """One conversation with a reaction server.

        async with ReactionClient("ws://127.0.0.1:8765", sample_rate=16000) as client:
            await client.send_audio(pcm16_bytes)
            frame = await client.next_frame()  # {"frame": 0, "blendshapes": {...}, "head": {...}, ...}
    """

    def __init__(self, url: str, sample_rate: int = 16000, channels: int = 1, samples: int = 1, seed: int = 0,
                 all_samples: bool = False, token: str | None = None, neck: bool | dict | None = None,
                 personality: list[float] | dict | None = None) -> None:
        """neck: the head pose's limits (live/neck.py): None or True the server's defaults, False
        none (an avatar), or {"max_speed": rad/s, "max_acceleration": rad/s^2}. personality: who the
        listener is, for a server of a personal generator (generator/personality.py); None: unknown."""
        self.url, self.token = url, token
        self.hello = {"type": "hello", "sample_rate": sample_rate, "channels": channels, "samples": samples,
                      "seed": seed, "all_samples": all_samples, **({} if neck is None else {"neck": neck}),
                      **({} if personality is None else {"personality": personality})}
        self.connection: ClientConnection | None = None
        self.ready: dict = {}
        self.errors: list[str] = []

    async def __aenter__(self) -> "ReactionClient":
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
        self.connection = await connect(self.url, additional_headers=headers, max_size=2 ** 22)
        await self.connection.send(json.dumps(self.hello))
        self.ready = json.loads(await self.connection.recv())
        return self

    async def __aexit__(self, *exc) -> None:
        await self.connection.close()

    async def send_audio(self, pcm16: bytes) -> None:
        await self.connection.send(pcm16)

    async def send_face(self, face: Mapping[str, float] | np.ndarray | None) -> None:
        """Tracker names (ARKit blendshapes, pitch, yaw, roll, optional tx, ty, tz), the FACE_DIM
        coefficients, or None: the face is lost."""
        if face is None:
            message = {"type": "face", "lost": True}
        elif isinstance(face, Mapping):
            names = dict(face)
            pose = {k: names.pop(k) for k in ("pitch", "yaw", "roll", "tx", "ty", "tz") if k in names}
            message = {"type": "face", "blendshapes": names, **pose}
        else:
            message = {"type": "face", "coefficients": np.asarray(face, float).tolist()}
        await self.connection.send(json.dumps(message))

    async def send_turn(self, speaking: bool) -> None:
        """The listener itself starts (True) or stops (False) speaking, from the next audio frame on:
        no backchannels meanwhile, its face held (generator/turns.py)."""
        await self.connection.send(json.dumps({"type": "turn", "speaking": bool(speaking)}))

    async def next_frame(self) -> dict:
        """The next listener frame; error messages on the way are kept in `errors`."""
        while True:
            message = json.loads(await self.connection.recv())
            if message.get("type") == "frame":
                return message
            if message.get("type") == "error":
                self.errors.append(message["error"])


@dataclass
class Latency:
    """Round trips, from sending a frame's last audio sample to receiving its listener frame."""

    seconds: list[float] = field(default_factory=list)
    frames_sent: int = 0
    closed: str | None = None  # why the conversation ended early, if it did
    code: int | None = None  # its close code (1006: the connection was lost, no close frame)

    def summary(self) -> dict[str, float]:
        ms = np.asarray(self.seconds) * 1000
        if not len(ms):  # nothing came back
            ms = np.array([np.nan])
        return {"frames": len(self.seconds), "lost": self.frames_sent - len(self.seconds),
                "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
                "max_ms": float(ms.max()), "late_over_40ms": int((ms > 1000 / FPS).sum())}


def why(exc: ConnectionClosed) -> tuple[int, str]:
    """A closed conversation's code and a sentence saying why."""
    if exc.rcvd is None:
        return 1006, "the connection was lost (no close frame: the server died or the network failed)"
    return exc.rcvd.code, f"the server closed the conversation: {exc.rcvd.code} {exc.rcvd.reason}".rstrip()


async def stream_recording(url: str, audio: np.ndarray, rate: int, faces: list | None = None, samples: int = 1,
                           seed: int = 0, token: str | None = None, realtime: bool = True,
                           frames: int | None = None, connected: Callable[[], Awaitable[None]] | None = None,
                           on_frame: Callable[[dict], None] | None = None,
                           speaking: np.ndarray | None = None, personality: list[float] | None = None
                           ) -> tuple[list[dict], Latency]:
    """Send mono float audio (and a face per frame, when given) frame by frame, at real time unless
    told otherwise; collect every listener frame and the round-trip times. connected(): awaited
    once the server has said ready, before the first frame (a load test connects every client
    first); on_frame(frame): called with each listener frame as it arrives (a recording);
    speaking: per frame, whether the listener itself speaks then (a turn message where it changes);
    personality: who the listener is (the hello's)."""
    per = int(rate / FPS)
    n = len(audio) // per if frames is None else min(frames, len(audio) // per)
    pcm = (np.clip(audio[:n * per], -1, 1) * 32767).astype("<i2")
    latency, received, sent_at = Latency(), [], {}
    async with ReactionClient(url, rate, 1, samples, seed, token=token, personality=personality) as client:
        if connected is not None:
            await connected()

        async def reader() -> None:
            try:
                while len(received) < n:
                    frame = await client.next_frame()
                    latency.seconds.append(time.perf_counter() - sent_at[frame["frame"]])
                    received.append(frame)
                    if on_frame is not None:
                        on_frame(frame)
            except ConnectionClosed as exc:
                latency.code, latency.closed = why(exc)

        task = asyncio.create_task(reader())
        start = time.perf_counter()
        try:
            for i in range(n):
                if realtime:
                    await asyncio.sleep(max(0.0, start + (i + 1) / FPS - time.perf_counter()))
                if faces is not None:
                    await client.send_face(faces[i])
                if speaking is not None and i < len(speaking) and bool(speaking[i]) != (i > 0 and bool(speaking[i - 1])):
                    await client.send_turn(bool(speaking[i]))
                sent_at[i] = time.perf_counter()
                await client.send_audio(pcm[i * per:(i + 1) * per].tobytes())
                latency.frames_sent += 1
        except ConnectionClosed:
            pass  # the reader says why
        try:
            await asyncio.wait_for(task, timeout=5.0 + (0 if realtime else n / FPS))
        except asyncio.TimeoutError:
            task.cancel()
    return received, latency


# Close codes after which coming back makes sense: lost, internal error, restarting, overloaded.
RETURN_CODES = frozenset({1006, 1011, 1012, 1013})
MAX_BACKOFF = 8.0


@dataclass
class Conversations:
    """A recording streamed over one or more conversations (reconnecting after each end)."""

    frames: list[dict] = field(default_factory=list)
    latency: Latency = field(default_factory=Latency)
    endings: list[str] = field(default_factory=list)  # why each conversation that ended early ended


async def stream_reconnecting(url: str, audio: np.ndarray, rate: int, faces: list | None = None, samples: int = 1,
                              seed: int = 0, token: str | None = None, realtime: bool = True,
                              frames: int | None = None, on_frame: Callable[[dict], None] | None = None,
                              reconnect: int = 0, backoff: float = 0.5,
                              say: Callable[[str], None] = print, speaking: np.ndarray | None = None,
                              personality: list[float] | None = None) -> Conversations:
    """stream_recording, and when a conversation ends early with a code that invites a return
    (RETURN_CODES) or the server cannot be reached, a new conversation after a wait doubling from
    `backoff` seconds (at most MAX_BACKOFF), going on from the first frame not answered; up to
    `reconnect` tries in a row without a frame answered (a conversation that streams starts the
    count and the wait over). say(line): how each ending and reconnection is reported."""
    per = int(rate / FPS)
    total = len(audio) // per if frames is None else min(frames, len(audio) // per)
    done, out, tries = 0, Conversations(), 0
    while done < total:
        try:
            got, latency = await stream_recording(url, audio[done * per:], rate,
                                                  None if faces is None else faces[done:], samples, seed, token,
                                                  realtime, total - done, on_frame=on_frame,
                                                  speaking=None if speaking is None else speaking[done:],
                                                  personality=personality)
        except ConnectionClosed as exc:  # closed before it was ready (a full server: 1013)
            got, latency = [], Latency()
            latency.code, latency.closed = why(exc)
        except OSError as exc:  # nobody listening: the server is down or restarting
            got, latency = [], Latency(closed=f"cannot connect to {url} ({exc.strerror or exc})", code=1006)
        out.frames += got
        out.latency.seconds += latency.seconds
        out.latency.frames_sent += len(got)
        done += len(got)
        if done >= total:
            break
        if got:  # it streamed: the server is back, a later fault starts the count over
            tries = 0
        ending = latency.closed or "the conversation ended early"
        out.endings.append(ending)
        say(ending)
        if tries >= reconnect or latency.code not in RETURN_CODES:
            out.latency.closed, out.latency.code = ending, latency.code
            out.latency.frames_sent += total - done  # never answered
            break
        wait = min(MAX_BACKOFF, backoff * 2 ** tries)
        tries += 1
        say(f"reconnecting in {wait:.1f} s (attempt {tries} of {reconnect}), from frame {done}")
        await asyncio.sleep(wait)
    return out
