"""VTube Studio output against a stand-in VTube Studio on 127.0.0.1: the token asked for once and
kept, each session authenticated with it, the served listener's face injected as default
parameters, and a VTube Studio that refuses or is absent never holding up the reactions."""
import asyncio
import json
import math
from pathlib import Path

import numpy as np
from websockets.asyncio.server import serve

from facereact.generator.sampling import Sampling
from facereact.layout import FACE_DIM, face_index
from facereact.live.client import stream_recording
from facereact.live.server import ReactionServer
from facereact.live.vtube_studio import VTubeStudioEmitter, vts_parameters

from tests.generator.test_generator import models
from tests.live.test_server import FAST, RATE, recording, running

TOKEN = "token-from-vts"


class StandIn:
    """What VTube Studio answers: a token when asked (unless it refuses), authentication with that
    token, and every injection recorded."""

    def __init__(self, allow: bool = True) -> None:
        self.allow, self.asked, self.sessions, self.injected = allow, 0, 0, []

    async def handle(self, ws) -> None:
        async for message in ws:
            m = json.loads(message)
            assert m["apiName"] == "VTubeStudioPublicAPI" and m["apiVersion"] == "1.0"
            kind, data = m["messageType"], m.get("data", {})
            reply = {"apiName": "VTubeStudioPublicAPI", "apiVersion": "1.0", "requestID": m["requestID"]}
            if kind == "AuthenticationTokenRequest":
                self.asked += 1
                if not self.allow:
                    await ws.send(json.dumps({**reply, "messageType": "APIError",
                                              "data": {"errorID": 50, "message": "User has denied API access"}}))
                    continue
                await ws.send(json.dumps({**reply, "messageType": "AuthenticationTokenResponse",
                                          "data": {"authenticationToken": TOKEN}}))
            elif kind == "AuthenticationRequest":
                ok = data.get("authenticationToken") == TOKEN and data.get("pluginName") == "facereact listener"
                self.sessions += ok
                await ws.send(json.dumps({**reply, "messageType": "AuthenticationResponse",
                                          "data": {"authenticated": ok, "reason": "ok" if ok else "bad token"}}))
            elif kind == "InjectParameterDataRequest":
                assert self.sessions and data["mode"] == "set"
                self.injected.append({p["id"]: p["value"] for p in data["parameterValues"]})
                await ws.send(json.dumps({**reply, "messageType": "InjectParameterDataResponse", "data": {}}))


def test_a_face_becomes_vtube_studios_default_parameters() -> None:
    face = np.zeros(FACE_DIM, np.float32)
    face[face_index("yaw")], face[face_index("pitch")] = 0.2, 0.1
    face[face_index("eyeBlinkLeft")], face[face_index("mouthSmileLeft")] = 0.8, 0.6
    face[face_index("eyeLookOutLeft")] = 0.5
    got = {p["id"]: p["value"] for p in vts_parameters(face)}
    assert got["FaceAngleX"] == round(math.degrees(0.2), 5) and got["FaceAngleY"] == round(-math.degrees(0.1), 5)
    assert got["EyeOpenLeft"] == 0.2 and got["EyeOpenRight"] == 1.0 and got["MouthSmile"] == 0.3
    assert got["EyeLeftX"] == 0.5 and got["MouthOpen"] == 0.0


def test_the_served_listener_drives_vtube_studio_with_a_kept_token(tmp_path: Path) -> None:
    generator, tokenizer = models()
    token_file = tmp_path / "vts.token"
    stand_in = StandIn()

    async def session(frames: int):
        async with serve(stand_in.handle, "127.0.0.1", 0) as vts:
            port = vts.sockets[0].getsockname()[1]
            emitter = VTubeStudioEmitter(f"ws://127.0.0.1:{port}", token_file, say=lambda line: None)
            server = ReactionServer(generator, tokenizer, Sampling(temperature=0.9, guidance=2.0), limits=FAST,
                                    on_frame=emitter)
            async with running(server) as url:
                got, _ = await stream_recording(url, recording(frames, 2), RATE, samples=1, seed=3, realtime=True,
                                                frames=frames)
                await asyncio.sleep(1.0)  # the avatar's head back to rest after the conversation
            await emitter.close()
            return got, emitter

    got, emitter = asyncio.run(session(25))
    assert stand_in.asked == 1 and token_file.read_text().strip() == TOKEN  # asked once, kept
    assert token_file.stat().st_mode & 0o077 == 0  # readable by its user alone
    assert stand_in.sessions == 1 and len(stand_in.injected) >= 20  # real time: most frames, the newest each
    # the avatar shows the frames the client got (the same neck-limited head), then goes back to rest
    served = {round(math.degrees(f["head"]["yaw"]), 2) for f in got}
    shown = [round(i["FaceAngleX"], 2) for i in stand_in.injected]
    assert sum(x in served for x in shown) >= 15
    rest = math.degrees(float(tokenizer.face_mean[face_index("yaw")]))
    assert abs(stand_in.injected[-1]["FaceAngleX"] - rest) < 0.01
    assert set(stand_in.injected[-1]) >= {"FaceAngleX", "FaceAngleY", "FaceAngleZ", "EyeOpenLeft", "MouthSmile",
                                          "MouthOpen", "Brows"}
    asyncio.run(session(10))  # the next session: the kept token, no new request
    assert stand_in.asked == 1 and stand_in.sessions == 2


def test_a_refusing_or_absent_vtube_studio_never_holds_up_the_reactions(tmp_path: Path) -> None:
    generator, tokenizer = models()
    said: list[str] = []
    refusing = StandIn(allow=False)

    async def main():
        async with serve(refusing.handle, "127.0.0.1", 0) as vts:
            port = vts.sockets[0].getsockname()[1]
            emitters = [VTubeStudioEmitter(f"ws://127.0.0.1:{port}", tmp_path / "a.token", say=said.append),
                        VTubeStudioEmitter("ws://127.0.0.1:9", tmp_path / "b.token", say=said.append)]  # nobody there

            def both(*frame) -> None:
                for emit in emitters:
                    emit(*frame)
            server = ReactionServer(generator, tokenizer, Sampling(temperature=0.9, guidance=2.0), limits=FAST,
                                    on_frame=both)
            async with running(server) as url:
                got, latency = await stream_recording(url, recording(20, 1), RATE, samples=1, seed=3, realtime=False)
            for emit in emitters:
                await emit.close()
            return got, latency

    got, latency = asyncio.run(main())
    assert len(got) == 20 and latency.summary()["lost"] == 0
    assert any("denied" in line for line in said) and any("ws://127.0.0.1:9" in line for line in said)
    assert not (tmp_path / "a.token").exists() and refusing.sessions == 0 and not refusing.injected


def test_a_vtube_studio_that_goes_away_is_reconnected_to(tmp_path: Path, monkeypatch) -> None:
    """VTube Studio restarted mid-conversation: the emitter says so, comes back with its kept
    token (no new request), and goes on with the newest frames."""
    import facereact.live.vtube_studio as vts_module

    monkeypatch.setattr(vts_module, "RETRY_SECONDS", 0.1)
    generator, tokenizer = models()
    stand_in, said = StandIn(), []

    async def main_():
        connections = []

        async def first_session_ends(ws):  # the first connection is cut after 5 frames
            connections.append(ws)
            task = asyncio.create_task(stand_in.handle(ws))
            if len(connections) == 1:
                while len(stand_in.injected) < 5 and not task.done():
                    await asyncio.sleep(0.01)
                await ws.close()
            await task

        async with serve(first_session_ends, "127.0.0.1", 0) as vts:
            port = vts.sockets[0].getsockname()[1]
            emitter = VTubeStudioEmitter(f"ws://127.0.0.1:{port}", tmp_path / "t.token", say=said.append)
            server = ReactionServer(generator, tokenizer, Sampling(temperature=0.9, guidance=2.0), limits=FAST,
                                    on_frame=emitter)
            async with running(server) as url:
                got, _ = await stream_recording(url, recording(40, 3), RATE, samples=1, seed=1, realtime=True)
            await emitter.close()
            return got

    got = asyncio.run(main_())
    assert len(got) == 40
    assert stand_in.asked == 1 and stand_in.sessions == 2, (said, len(stand_in.injected))  # one token, two sessions
    assert len(stand_in.injected) > 10  # frames after the reconnection too
    assert sum("authenticated" in line for line in said) == 2
