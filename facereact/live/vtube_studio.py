"""Listener frames into VTube Studio (a Live2D avatar), through its public plugin API:
`facereact serve --vtube-studio ws://127.0.0.1:8001`.

VTube Studio listens on a WebSocket (port 8001 by default, "Allow Plugin API access" on). Every
request is JSON: {"apiName": "VTubeStudioPublicAPI", "apiVersion": "1.0", "requestID", "messageType",
"data"}. A plugin asks once for a token (AuthenticationTokenRequest: the user allows it in VTube
Studio), keeps it, and authenticates each session with it (AuthenticationRequest); then it feeds
tracking parameters (InjectParameterDataRequest, "set" mode) as often as it has frames. The
listener's face becomes VTube Studio's default input parameters (the ones a face tracker feeds and
every model maps): head angles in degrees, eye opening and gaze, smile, mouth opening, brows.

One avatar follows one conversation: the first whose frames come, until it has sent none for a
second. The avatar is a display: if VTube Studio is not running, refuses the plugin or goes away,
the emitter says so once and retries every few seconds; the reactions are never held up.
"""
from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from facereact.io import write_text_atomic
from facereact.layout import ROTATION, face_index

API = {"apiName": "VTubeStudioPublicAPI", "apiVersion": "1.0"}
PLUGIN = {"pluginName": "facereact listener", "pluginDeveloper": "facereact"}
DEFAULT_TOKEN_FILE = Path.home() / ".config" / "facereact" / "vtube-studio.token"
RETRY_SECONDS = 3.0
FOLLOW_SECONDS = 1.0  # a followed conversation silent this long lets the next one drive the avatar
# The 3DMM's pitch is positive with the head down; VTube Studio's FaceAngleY is positive looking up.
PITCH_SIGN = -1.0
_PITCH, _YAW, _ROLL = range(ROTATION.start, ROTATION.stop)


def _mean(face: np.ndarray, *names: str) -> float:
    return float(np.mean([face[face_index(n)] for n in names]))


def vts_parameters(face: np.ndarray) -> list[dict]:
    """One listener face (FACE_DIM,) as VTube Studio default input parameters."""
    clip = lambda x, lo=0.0, hi=1.0: float(min(hi, max(lo, x)))  # noqa: E731
    values = {
        "FaceAngleX": math.degrees(face[_YAW]),
        "FaceAngleY": PITCH_SIGN * math.degrees(face[_PITCH]),
        "FaceAngleZ": math.degrees(face[_ROLL]),
        "EyeOpenLeft": clip(1.0 - face[face_index("eyeBlinkLeft")]),
        "EyeOpenRight": clip(1.0 - face[face_index("eyeBlinkRight")]),
        # gaze, both eyes positive toward the avatar's left and up
        "EyeLeftX": clip(_mean(face, "eyeLookOutLeft") - _mean(face, "eyeLookInLeft"), -1.0),
        "EyeRightX": clip(_mean(face, "eyeLookInRight") - _mean(face, "eyeLookOutRight"), -1.0),
        "EyeLeftY": clip(_mean(face, "eyeLookUpLeft") - _mean(face, "eyeLookDownLeft"), -1.0),
        "EyeRightY": clip(_mean(face, "eyeLookUpRight") - _mean(face, "eyeLookDownRight"), -1.0),
        "MouthSmile": clip(_mean(face, "mouthSmileLeft", "mouthSmileRight")),
        "MouthOpen": clip(_mean(face, "jawOpen")),
        "Brows": clip(_mean(face, "browInnerUp", "browOuterUpLeft", "browOuterUpRight")
                      - _mean(face, "browDownLeft", "browDownRight")),
        "BrowLeftY": clip(_mean(face, "browOuterUpLeft") - _mean(face, "browDownLeft")),
        "BrowRightY": clip(_mean(face, "browOuterUpRight") - _mean(face, "browDownRight")),
        "CheekPuff": clip(_mean(face, "cheekPuff")),
    }
    return [{"id": name, "value": round(float(value), 5)} for name, value in values.items()]


def request(message_type: str, request_id: str, data: dict | None = None) -> str:
    return json.dumps({**API, "requestID": request_id, "messageType": message_type, "data": data or {}})


class VTubeStudioError(RuntimeError):
    pass


class VTubeStudioEmitter:
    """A server's on_frame callback (conversation, frame, faces (K, FACE_DIM), emotions) driving one
    VTube Studio avatar with reaction 0 of the conversation it follows. Call it from the server's
    event loop; the sending runs in a task of that loop."""

    def __init__(self, url: str = "ws://127.0.0.1:8001", token_file: str | Path = DEFAULT_TOKEN_FILE,
                 say=lambda line: print(line, file=sys.stderr, flush=True)) -> None:
        self.url, self.token_file, self.say = url, Path(token_file), say
        self.latest: list[dict] | None = None
        self.following: int | None = None
        self.heard = 0.0  # when the followed conversation's last frame came
        self.sent = 0
        self.problem: str | None = None  # the last problem said, said once
        self._task: asyncio.Task | None = None
        self._fresh: asyncio.Event | None = None

    def __call__(self, conversation: int, frame: int, face: np.ndarray, emotion: np.ndarray) -> None:
        now = time.monotonic()
        if self.following != conversation and self.following is not None and now - self.heard < FOLLOW_SECONDS:
            return
        self.following, self.heard = conversation, now
        self.latest = vts_parameters(np.asarray(face)[0])
        if self._task is None:
            self._fresh = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        self._fresh.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            try:
                async with connect(self.url, open_timeout=5, max_size=2 ** 20) as ws:
                    await self._authenticate(ws)
                    self._said(None)
                    self.say(f"VTube Studio at {self.url}: authenticated, driving the avatar")
                    await self._stream(ws)
            except (OSError, WebSocketException, asyncio.TimeoutError, VTubeStudioError, ValueError) as exc:
                self._said(f"VTube Studio at {self.url}: {exc}; retrying every {RETRY_SECONDS:g} s")
            await asyncio.sleep(RETRY_SECONDS)

    def _said(self, problem: str | None) -> None:
        if problem is not None and problem != self.problem:
            self.say(problem)
        self.problem = problem

    async def _ask(self, ws, message_type: str, data: dict) -> dict:
        await ws.send(request(message_type, f"facereact-{message_type}", data))
        while True:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 60.0))  # a person may be asked to allow it
            if reply.get("requestID") != f"facereact-{message_type}":
                continue
            if reply.get("messageType") == "APIError":
                error = reply.get("data", {})
                raise VTubeStudioError(f"{message_type} refused: {error.get('message')} (error {error.get('errorID')})")
            return reply.get("data", {})

    async def _authenticate(self, ws) -> None:
        token = self.token_file.read_text().strip() if self.token_file.is_file() else ""
        if token:
            reply = await self._ask(ws, "AuthenticationRequest", {**PLUGIN, "authenticationToken": token})
            if reply.get("authenticated"):
                return
        self.say("VTube Studio: asking for a plugin token; allow 'facereact listener' in VTube Studio")
        token = (await self._ask(ws, "AuthenticationTokenRequest", PLUGIN)).get("authenticationToken", "")
        if not token:
            raise VTubeStudioError("no token in VTube Studio's answer")
        write_text_atomic(self.token_file, token + "\n")
        self.token_file.chmod(0o600)  # it lets any program drive this VTube Studio: the user's alone
        reply = await self._ask(ws, "AuthenticationRequest", {**PLUGIN, "authenticationToken": token})
        if not reply.get("authenticated"):
            raise VTubeStudioError(f"not authenticated: {reply.get('reason')}")

    async def _stream(self, ws) -> None:
        """Each newest frame as one InjectParameterDataRequest (frames that came meanwhile are
        skipped: the avatar shows the present); replies are read and errors said."""
        async def replies() -> None:
            async for message in ws:
                reply = json.loads(message)
                if reply.get("messageType") == "APIError":
                    self._said(f"VTube Studio refused a frame: {reply.get('data', {}).get('message')}")

        reader = asyncio.create_task(replies())
        try:
            while not reader.done():
                await self._fresh.wait()
                self._fresh.clear()
                await ws.send(request("InjectParameterDataRequest", "facereact-frame",
                                      {"faceFound": True, "mode": "set", "parameterValues": self.latest}))
                self.sent += 1
            reader.result()  # the connection ended: its error, if any
        finally:
            reader.cancel()
