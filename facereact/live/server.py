"""`facereact serve`: listener reactions for many robots and avatars at once, over WebSockets.

One connection is one conversation (the protocol: live/protocol.py, docs/live.md). The audio that
arrives, in chunks of any size, is cut into 1/25 s frames; each frame joins its conversation's
queue in a ReactionEngine (one per K), and one ticker steps every conversation with a frame waiting,
in one batched forward pass (live/engine.py); a new conversation starts in a free slot of that
pass, or, when the batch is full, in a pass of its own after the others' frames are sent. The forward runs on the event loop's own thread:
in a worker thread, its hundreds of small torch calls per tick each waited for the GIL against the
loop (a tick of 8 conversations took 67 ms there, 16 ms here); messages that arrive during a tick
wait in the socket buffers. Only the ticker touches the engines.

Built on the `websockets` library: a maintained asyncio WebSocket stack with per-message size
limits, and no web framework to carry. Safe by default: loopback unless told otherwise, a shared
token required on any other address, and bounds on message size, sessions, rate and idle time;
a bad message gets an error or a close code with a reason and touches no other conversation.
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import os
import signal
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from facereact.data.audio import frame_features
from facereact.errors import UsageError
from facereact.export.files import read_interface
from facereact.generator.model import ReactionGenerator
from facereact.generator.sampling import Sampling
from facereact.generator.session import compile_steps
from facereact.layout import FPS, ROTATION
from facereact.live.engine import ReactionEngine, SpeakerFrame
from facereact.live.export_engine import ExportEngine
from facereact.live.neck import Neck
from facereact.live.protocol import (Hello, ProtocolError, frame_message, parse_emotion, parse_face, parse_hello,
                                     parse_json, parse_turn, pcm16_to_mono)
from facereact.tokenizer.model import FaceTokenizer

TOKEN_ENV = "FACEREACT_TOKEN"
# The live page (microphone in, the listener's face and emotion out), served at "/".
PAGE = (Path(__file__).parent / "page.html").read_text()


@dataclass(frozen=True)
class Limits:
    sessions: int = 64  # conversations at once
    message_bytes: int = 64 * 1024  # one WebSocket message (2 s of 16 kHz mono PCM16)
    burst_frames: int = 25  # how far (frames) a client may run ahead of real time
    idle_seconds: float = 20.0  # a connection that sends nothing this long is closed
    hello_seconds: float = 5.0  # time to say hello after connecting
    outbox_frames: int = 250  # listener frames a client may leave unread (10 s) before it is dropped
    samples: int = 10  # the largest K a client may ask for
    gather_seconds: float = 0.008  # how long a tick waits, after its first frame, for more conversations' frames
    reserve: int = 4  # slots a batch starts with (1.6 MB each at K = 1), made at start for the launch K:
    # conversations start over in free slots in the members' pass; only a full batch grows (a copy of everyone)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _Conversation:
    cid: int
    hello: Hello
    outbox: asyncio.Queue
    connection: ServerConnection
    started: float = field(default_factory=time.monotonic)
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    frames_in: int = 0
    face: np.ndarray | None = None
    emotion: np.ndarray | None = None
    speaking: bool = False  # the listener itself speaks (a turn message said so)
    neck: Neck | None = None  # the head pose's limits (hello "neck"); None: as generated
    last: tuple[int, np.ndarray, np.ndarray] | None = None  # the last frame sent: index, face, emotion


class ReactionServer:
    def __init__(self, generator: ReactionGenerator | None, tokenizer: FaceTokenizer | None,
                 sampling: Sampling | None = None, read_emotion: bool = True, limits: Limits = Limits(),
                 token: str | None = None, on_frame: Callable[[int, int, np.ndarray, np.ndarray], None] | None = None,
                 ids: tuple[int, int] = (0, 1), export: str | Path | None = None) -> None:
        """read_emotion: a conversation with a face and no emotion values has the speaker's emotion
        read off the face (what a robot has). on_frame(conversation, frame index, face (K, FACE_DIM),
        emotion (K, EMOTION_DIM)): called for every listener frame, e.g. to drive an avatar
        (live/livelink.py). ids: (first, step) of conversation ids, so that workers sharing a
        socket (live/workers.py) never give two conversations one id. export: an export folder
        (`facereact export`) served on onnxruntime instead of generator and tokenizer (both None;
        live/export_engine.py): its sampling, K, audio rate and emotion reading are its own."""
        self.export = None if export is None else Path(export)
        if self.export is None:
            if generator.config.offline:
                raise UsageError("an offline generator cannot serve live conversations: give an online one")
            self.generator, self.tokenizer = generator.eval(), tokenizer.eval()
            self.resting, self.rate = tokenizer.face_mean.numpy(), None
        else:
            self.interface = interface = read_interface(self.export)
            self.generator = self.tokenizer = None
            self.resting = np.asarray(interface["resting_face"], np.float32)
            self.rate, self.export_samples = interface["rate"], interface["samples"]
            if limits.samples > self.export_samples:
                raise UsageError(f"this export draws K = {self.export_samples} reactions: serve at most that many")
        self.personal = self.generator is not None and self.generator.personal  # takes a hello's personality
        # the live page, with its listener control where the model takes a personality
        self.page = PAGE.replace("const PERSONAL = false;", "const PERSONAL = true;") if self.personal else PAGE
        self.sampling = sampling
        self.read_emotion, self.limits, self.token, self.on_frame = read_emotion, limits, token, on_frame
        self.engines: dict[int, ReactionEngine | ExportEngine] = {}
        self.live: dict[int, _Conversation] = {}
        self._ops: list[tuple] = []  # engine changes, applied by the ticker between ticks
        self._next, self._id_step = ids
        self._greeting = 0
        self._wake = asyncio.Event()
        self._first_frame: float | None = None  # when the oldest frame not yet ticked was received

    # -- handshake: the token, and the live page for plain HTTP requests ---------------------------
    def _check_request(self, connection: ServerConnection, request):
        if self.token is not None:
            given = request.headers.get("Authorization", "")
            given = given[len("Bearer "):] if given.startswith("Bearer ") else ""
            if not given:
                given = (parse_qs(urlsplit(request.path).query).get("token") or [""])[0]
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return connection.respond(HTTPStatus.UNAUTHORIZED, "a valid token is required\n")
        if request.headers.get("Upgrade", "").lower() != "websocket":
            if urlsplit(request.path).path not in ("/", "/index.html"):
                return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
            response = connection.respond(HTTPStatus.OK, self.page)
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "text/html; charset=utf-8"
            return response
        return None

    # -- one conversation --------------------------------------------------------------------------
    async def _handler(self, connection: ServerConnection) -> None:
        if self._greeting >= self.limits.sessions:  # connections that have not said hello yet, bounded too
            await connection.close(1013, "too many connections waiting to say hello")
            return
        self._greeting += 1
        try:
            first = await asyncio.wait_for(connection.recv(), self.limits.hello_seconds)
        except (asyncio.TimeoutError, ConnectionClosed):
            await connection.close(1008, "no hello")
            return
        finally:
            self._greeting -= 1
        try:
            if not isinstance(first, str):
                raise ProtocolError("binary where text is due: the first message is the JSON hello", True, 1003)
            hello = parse_hello(parse_json(first), self.limits.samples)
        except ProtocolError as exc:
            await connection.close(exc.code, exc.reason)
            return
        if self.rate is not None and hello.sample_rate != self.rate:
            await connection.close(1008, f"hello: this server's listener (an export) hears {self.rate} Hz audio, "
                                         f"got {hello.sample_rate} Hz")
            return
        if hello.personality is not None and not self.personal:
            await connection.close(1008, "hello: this server's listener is generic: it takes no personality "
                                         "(serve a generator trained with --personal)")
            return
        if len(self.live) >= self.limits.sessions:
            await connection.close(1013, f"the server holds its limit of {self.limits.sessions} conversations")
            return
        cid, self._next = self._next, self._next + self._id_step
        conversation = _Conversation(cid, hello, asyncio.Queue(self.limits.outbox_frames), connection,
                                     neck=None if hello.neck is None else Neck(hello.neck, self.resting, hello.samples))
        self.live[cid] = conversation
        self._ops.append(("open", cid, hello.samples, hello.seed,
                          None if hello.personality is None else np.array(hello.personality, np.float32)))
        sender = asyncio.create_task(self._send(connection, conversation))
        try:
            await connection.send(json.dumps({"type": "ready", "conversation": cid, "fps": FPS,
                                              "frame_samples": hello.frame_samples, "hello": asdict(hello)}))
            await self._receive(connection, conversation)
        except ConnectionClosed:
            pass
        except ProtocolError as exc:
            await connection.close(exc.code, exc.reason)
        finally:
            sender.cancel()
            self.live.pop(cid, None)
            self._ops.append(("close", cid, hello.samples))
            self._wake.set()
            if self.on_frame is not None and conversation.neck is not None and conversation.last is not None:
                asyncio.create_task(self._rest(conversation))

    async def _rest(self, c: _Conversation) -> None:
        """A conversation's end, for what on_frame drives (a robot, a MetaHuman): its head back to
        rest within the neck's limits, in real time, the rest of the face as it last was."""
        index, face, emotion = c.last
        for pose in c.neck.to_rest():
            index += 1
            face = face.copy()
            face[:, ROTATION] = pose
            self.on_frame(c.cid, index, face, emotion)
            await asyncio.sleep(1 / FPS)

    async def _receive(self, connection: ServerConnection, c: _Conversation) -> None:
        while True:
            try:
                message = await asyncio.wait_for(connection.recv(), self.limits.idle_seconds)
            except asyncio.TimeoutError:
                raise ProtocolError(f"idle for {self.limits.idle_seconds:g} s", True) from None
            try:
                if isinstance(message, bytes):
                    self._audio(c, pcm16_to_mono(message, c.hello.channels))
                    continue
                request = parse_json(message)
                kind = request["type"]
                if kind == "bye":
                    await connection.close(1000, "bye")
                    return
                if kind == "face":
                    c.face = parse_face(request, self.resting)
                    if c.face is None:
                        c.emotion = None  # emotion never comes without a face
                elif kind == "emotion":
                    if self.export is not None:
                        raise ProtocolError("this server's listener (an export) reads the speaker's emotion off "
                                            "the face; emotion values are not used")
                    if c.face is None:
                        raise ProtocolError("emotion values need a face: send a face message first")
                    c.emotion = parse_emotion(request)
                elif kind == "turn":
                    c.speaking = parse_turn(request)
                else:
                    raise ProtocolError(f"unknown message type {kind!r} "
                                        "(hello comes once; then face, emotion, turn, bye)")
            except ProtocolError as exc:
                if exc.fatal:
                    raise
                await connection.send(json.dumps({"type": "error", "error": exc.reason}))

    def _audio(self, c: _Conversation, mono: np.ndarray) -> None:
        c.audio = np.concatenate([c.audio, mono])
        per = c.hello.frame_samples
        n = len(c.audio) // per
        if n == 0:
            return
        allowed = self.limits.burst_frames + (time.monotonic() - c.started) * FPS
        if c.frames_in + n > allowed:
            raise ProtocolError(f"audio faster than real time (more than {self.limits.burst_frames} frames ahead)",
                                True)
        frames = c.audio[:n * per].reshape(n, per)
        c.audio = c.audio[n * per:]
        for frame in frames:  # features are computed at the tick, for every conversation at once
            self._ops.append(("frame", c.cid, c.hello.samples,
                              (frame, c.hello.sample_rate, c.face, c.emotion, c.speaking)))
        c.frames_in += n
        if self._first_frame is None:
            self._first_frame = time.monotonic()
        self._wake.set()

    async def _send(self, connection: ServerConnection, c: _Conversation) -> None:
        try:
            while True:
                await connection.send(await c.outbox.get())
        except ConnectionClosed:
            pass  # the receiving side ends the conversation

    # -- the ticker --------------------------------------------------------------------------------
    def _apply_ops(self) -> None:
        ops, self._ops = self._ops, []
        _features(ops, raw=self.export is not None)
        for op in ops:
            kind, cid, samples = op[:3]
            engine = self.engines.get(samples)
            if kind == "open":
                self._engine(samples).open(op[3], cid, op[4])
            elif engine is None:  # its engine was reset after an internal error
                continue
            elif kind == "close":
                engine.close(cid)
            elif cid in engine.conversations:
                try:
                    engine.submit(cid, op[3])
                except UsageError as exc:  # the ticks fall behind this conversation: it alone goes
                    self._drop(cid, 1013, f"server overloaded: {exc}")

    def _engine(self, samples: int) -> ReactionEngine | ExportEngine:
        """The engine of conversations at K = samples, made on first use."""
        if samples not in self.engines and self.export is not None:
            self.engines[samples] = ExportEngine(self.export, samples, 4 * self.limits.burst_frames, self.interface)
        if samples not in self.engines:
            self.engines[samples] = ReactionEngine(self.generator, self.tokenizer, samples, self.sampling,
                                                   self.read_emotion, max_queue=4 * self.limits.burst_frames,
                                                   reserve=self.limits.reserve)
        return self.engines[samples]

    def _tick(self, new: bool) -> list[tuple[int, str]]:
        """One tick of every engine's conversations in its batch, or (new) of those whose first
        frame it is; the messages to send."""
        out = []
        for engine in self.engines.values():
            for cid, frame in (engine.tick_new() if new else engine.tick_members()).items():
                c = self.live.get(cid)
                if c is None:
                    continue
                index = engine.conversations[cid].frames - 1
                face = frame.face if c.neck is None else c.neck.follow(frame.face)
                c.last = (index, face, frame.emotion)
                if self.on_frame is not None:
                    self.on_frame(cid, index, face, frame.emotion)
                try:
                    out.append((cid, frame_message(index, face, frame.emotion, 0, c.hello.all_samples)))
                except ValueError as exc:  # a non-finite frame: this conversation ends, the others go on
                    self._drop(cid, 1011, f"internal error: {exc}")
        return out

    def _drop(self, cid: int, code: int, reason: str) -> None:
        c = self.live.pop(cid, None)
        if c is not None:
            asyncio.create_task(c.connection.close(code, reason))

    def _all_ready(self) -> bool:
        return all(c.queue for engine in self.engines.values() for c in engine.conversations.values())

    async def _ticker(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._apply_ops()
            if not any(engine.pending() for engine in self.engines.values()):
                continue
            # Wait, briefly, for more conversations' frames: a tick costs a few ms whoever it steps
            # plus a little per conversation stepped (a late one is simply not stepped), so one tick
            # for frames a few ms apart takes less CPU than one for each, at a few ms of latency.
            deadline = (self._first_frame or time.monotonic()) + self.limits.gather_seconds
            while not self._all_ready() and time.monotonic() < deadline:
                await asyncio.sleep(0.001)
                self._apply_ops()
            started, self._first_frame = self._first_frame or time.monotonic(), None
            # The batch's conversations first (newcomers with a free slot among them); their frames
            # go out before newcomers that need the batch grown (a pass of its own, and a copy of
            # everyone's state), so a robot connecting does not hold up everyone's frame.
            if self._run(new=False) and any(engine.newcomers() for engine in self.engines.values()):
                for _ in range(2):  # the senders' turn: a message is written in the pass after it is queued
                    await asyncio.sleep(0)
                self._apply_ops()
                self._run(new=True)
            if any(engine.pending() for engine in self.engines.values()):  # a backlog: no more waiting
                self._first_frame = started
            self._wake.set()  # frames that arrived during the tick, or more queued

    def _run(self, new: bool) -> bool:
        """Tick (see _tick) and queue the messages; False after an internal error, which ends
        every conversation (a bug must not leave them hanging) and keeps serving."""
        try:
            messages = self._tick(new)
        except Exception:
            traceback.print_exc()
            for cid in list(self.live):
                self._drop(cid, 1011, "internal error; please reconnect")
            self.engines.clear()
            return False
        for cid, message in messages:
            c = self.live.get(cid)
            if c is None:
                continue
            try:
                c.outbox.put_nowait(message)
            except asyncio.QueueFull:  # the client stopped reading: it alone is dropped
                self._drop(cid, 1008, "frames left unread")
        return True

    # -- running -----------------------------------------------------------------------------------
    async def run(self, host: str = "127.0.0.1", port: int = 8765, ready: asyncio.Future | None = None,
                  stop: asyncio.Future | None = None, sock: socket.socket | None = None) -> None:
        """Serve until `stop` is set (or SIGINT/SIGTERM); `ready` receives the bound port. With `sock`
        (a listening socket, live/workers.py) it accepts there instead of binding host:port."""
        if sock is not None:
            host = sock.getsockname()[0]
        if not is_loopback(host) and not self.token:
            raise UsageError(f"binding to {host} (not loopback) needs a token: --token or ${TOKEN_ENV}")
        if self.export is None:  # an export's steps run on onnxruntime: nothing to compile
            compile_steps()  # before the first conversation, not during its first frame
        self._engine(self.limits.samples).prepare()  # the launch K's free slots, before anyone comes
        loop = asyncio.get_running_loop()
        stop = stop if stop is not None else loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
            except (NotImplementedError, RuntimeError):  # not the main thread (tests)
                pass
        ticker = asyncio.create_task(self._ticker())
        try:
            # No permessage-deflate: compressing every small frame took 8% of a loaded server's time,
            # to save bytes that loopback and a LAN do not miss.
            where = {"sock": sock} if sock is not None else {"host": host, "port": port}
            async with serve(self._handler, max_size=self.limits.message_bytes, compression=None,
                             process_request=self._check_request, ping_interval=20, ping_timeout=20,
                             **where) as server:
                if ready is not None:
                    ready.set_result(server.sockets[0].getsockname()[1])
                await stop
                # 1012 (service restart): a client that sees it comes back (facereact client --reconnect)
                await asyncio.gather(*(c.connection.close(1012, "the server is stopping: reconnect")
                                       for c in list(self.live.values())), return_exceptions=True)
        finally:
            ticker.cancel()


def _features(ops: list[tuple], raw: bool = False) -> None:
    """Replace the raw audio of every queued frame by its features, one MFCC call per sample rate
    (per frame, the MFCC's numpy overhead cost 0.26 ms; 32 frames at once take 1.5 ms); raw: keep
    the PCM (an export computes its features in its graph)."""
    if raw:
        for i, op in enumerate(ops):
            if op[0] == "frame":
                kind, cid, samples, (pcm, _, face, emotion, speaking) = op
                ops[i] = (kind, cid, samples, SpeakerFrame(pcm.astype(np.float32), face, None, speaking))
        return
    by_rate: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        if op[0] == "frame":
            by_rate.setdefault(op[3][1], []).append(i)
    for rate, where in by_rate.items():
        features = frame_features(np.concatenate([ops[i][3][0] for i in where]), rate, len(where))
        for i, f in zip(where, features):
            kind, cid, samples, (_, _, face, emotion, speaking) = ops[i]
            ops[i] = (kind, cid, samples, SpeakerFrame(f, face, emotion, speaking))


def token_from(flag: str | None) -> str | None:
    return flag or os.environ.get(TOKEN_ENV) or None
