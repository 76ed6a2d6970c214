"""`facereact serve` on an export: the served frames are the export's own (onnxruntime, the same
seed), turns and the neck apply as on the PyTorch model, and what an export cannot take is refused
by name."""
import asyncio
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import connect

from facereact.cli import main
from facereact.export.files import export_listener
from facereact.export.runtime import ExportedListener
from facereact.generator.sampling import Sampling
from facereact.generator.turns import speaking_frames
from facereact.layout import BLENDSHAPE_NAMES, FPS
from facereact.live.client import stream_recording
from facereact.live.server import ReactionServer

from tests.generator.test_generator import models
from tests.live.test_server import FAST, PER, RATE, quantised, recording, running

pytest.importorskip("onnxruntime", reason="serving an export needs onnxruntime (pip install 'facereact[export]')")


@pytest.fixture(scope="module")
def export_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("served_export")
    generator, tokenizer = models()
    generator.chosen_sampling = Sampling(temperature=0.9, guidance=2.0)
    generator.save(root / "model")
    tokenizer.save(root / "model" / "tokenizer")
    assert export_listener(root / "model", root / "export", samples=2, rate=RATE, check_frames=20).tokens_equal
    return root / "export"


def test_the_served_frames_are_the_exports_own_with_turns(export_folder: Path) -> None:
    frames = 50
    audio = recording(frames, 4)
    speaking = speaking_frames([(0.8, 1.4)], frames, FPS)

    async def main_():
        server = ReactionServer(None, None, limits=replace(FAST, samples=2), export=export_folder)
        async with running(server) as url:
            return await stream_recording(url, audio, RATE, samples=2, seed=5, realtime=False, speaking=speaking)

    got, latency = asyncio.run(main_())
    assert len(got) == frames and latency.summary()["lost"] == 0
    listener = ExportedListener(export_folder, seed=5)
    pcm = quantised(audio)
    want = [listener.step(pcm[t * PER:(t + 1) * PER], RATE, speaking=bool(speaking[t])) for t in range(frames)]
    for g, w in zip(got, want):  # the blendshapes as the export gives them (the neck limits only the head)
        np.testing.assert_allclose(list(g["blendshapes"].values()), w.face[0, :len(BLENDSHAPE_NAMES)], atol=1e-4)
    held = np.array([list(f["blendshapes"].values()) for f in got[20 + 3:35]])
    assert np.ptp(held, axis=0).max() < 1e-4  # the listener's turn: its face held


def test_what_an_export_cannot_serve_is_refused_by_name(export_folder: Path, capsys) -> None:
    async def main_():
        server = ReactionServer(None, None, limits=replace(FAST, samples=2), export=export_folder)
        async with running(server) as url:
            async with connect(url) as ws:
                await ws.send(json.dumps({"type": "hello", "sample_rate": 44100}))
                try:
                    await ws.recv()
                except Exception:
                    pass
                wrong_rate = ws.close_reason
            async with connect(url) as ws:
                await ws.send(json.dumps({"type": "hello", "sample_rate": RATE, "samples": 1}))
                json.loads(await ws.recv())
                await ws.send(json.dumps({"type": "face", "coefficients": [0.0] * 58}))
                await ws.send(json.dumps({"type": "emotion", "values": [0.0] * 25}))
                error = json.loads(await ws.recv())
            return wrong_rate, error

    wrong_rate, error = asyncio.run(main_())
    assert "16000 Hz" in wrong_rate and "44100" in wrong_rate
    assert error["type"] == "error" and "off the face" in error["error"]
    with pytest.raises(Exception, match="K = 2"):
        ReactionServer(None, None, limits=replace(FAST, samples=3), export=export_folder)
    assert main(["serve", "--model", str(export_folder), "--guidance", "2"]) == 2
    assert "fixed in its graph" in capsys.readouterr().err
