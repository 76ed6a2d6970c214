"""The exported step: its pure PyTorch form against the session, the ONNX graph against both, the
host's random numbers, the command line, and a host in another language (Node)."""
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from facereact.cli import main
from facereact.data.audio import frame_features
from facereact.errors import DataError, UsageError
from facereact.export.audio import FrameMFCC
from facereact.export.files import check_export, check_signal, check_speaking, export_listener, read_interface
from facereact.export.host_random import HostRandom
from facereact.export.runtime import ExportedListener
from facereact.export.step import ListenerStep
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession

from tests.generator.test_generator import models

RATE, FPS = 16000, 25
GUIDED = Sampling(temperature=0.9, guidance=3.0, guidance_ramp=5)
NODE_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node"


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_the_graphs_mfcc_is_the_sessions(rate: int) -> None:
    rng = np.random.default_rng(rate)
    pcm = (rng.standard_normal(int(rate / FPS)) * 0.2).astype(np.float32)
    want = frame_features(pcm.astype(np.float64), rate, 1)
    got = FrameMFCC(rate, FPS)(torch.from_numpy(pcm)).numpy()
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-5 * max(1.0, np.abs(want).max())


def test_a_rate_the_recipe_cannot_use_is_refused() -> None:
    with pytest.raises(DataError, match="sample rate"):
        FrameMFCC(4000, FPS)


def test_host_random_is_splitmix64_and_one_stream() -> None:
    # SplitMix64's published first output for seed 1234567 is 6457827717110365317 (0x599ed017fb08fc85)
    assert HostRandom(1234567).draw((1,))[0] == np.float32((0x599ED017FB08FC85 >> 40) / 2 ** 24)
    whole = HostRandom(5).draw((4, 3))
    parts = HostRandom(5)
    assert np.array_equal(np.concatenate([parts.draw((2, 3)), parts.draw((2, 3))]), whole)
    assert whole.dtype == np.float32 and (0 <= whole).all() and (whole < 1).all() and len(np.unique(whole)) == 12


def _frames(frames: int, tokenizer, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return check_signal(frames, RATE, FPS, tokenizer, seed)


@pytest.mark.parametrize("samples,sampling,read_emotion", [(3, GUIDED, True), (1, Sampling(temperature=0.8), False),
                                                          (2, replace(GUIDED, guidance_ramp=0), True),
                                                          (2, replace(GUIDED, guidance_no_face=1.5), False)])
def test_the_pure_step_is_the_session(samples: int, sampling: Sampling, read_emotion: bool) -> None:
    """Through the bands' filling, a face lost and back (the encoder and reader start over),
    guidance ramped in (another where the face is lost, when the sampling says so), the listener's
    turns (one starting while the last fades out): the same tokens and faces as the session, fed the
    same uniforms."""
    generator, tokenizer = models()
    pcm, faces, face_on = _frames(50, tokenizer, seed=samples)
    speaking = check_speaking(50)
    session = StreamingSession(generator, tokenizer, samples, sampling, seed=4, read_emotion=read_emotion)
    step = ListenerStep(generator, tokenizer, samples, sampling, RATE, read_emotion)
    state = step.initial_state()
    draws = torch.Generator().manual_seed(4)
    per = RATE // FPS
    with torch.inference_mode():
        for t in range(50):
            chunk = pcm[t * per:(t + 1) * per]
            want = session.step(chunk.astype(np.float64), RATE, faces[t] if face_on[t] else None,
                                speaking=speaking[t])
            face, emotion, tokens, *state = step(torch.from_numpy(chunk), torch.from_numpy(faces[t][None]),
                                                 torch.tensor([float(face_on[t])]),
                                                 torch.rand(samples, step.digits, generator=draws),
                                                 torch.tensor([float(speaking[t])]), *state)
            np.testing.assert_array_equal(tokens.numpy(), want.tokens, err_msg=f"frame {t}")
            np.testing.assert_allclose(face.numpy(), want.face, atol=1e-4)
            np.testing.assert_allclose(emotion.numpy(), want.emotion, atol=1e-4)
    assert not face_on.all() and face_on[-1]  # the check crossed a face's loss and return


def test_the_step_refuses_what_it_cannot_export() -> None:
    generator, tokenizer = models()
    with pytest.raises(UsageError, match="top-k"):
        ListenerStep(generator, tokenizer, 2, Sampling(top_k=5), RATE)
    offline, _ = models(offline=True)
    with pytest.raises(UsageError, match="offline"):
        ListenerStep(offline, tokenizer, 2, GUIDED, RATE)
    personal, _ = models(personality=5)
    with pytest.raises(UsageError, match="generic listeners; this generator is personal"):
        ListenerStep(personal, tokenizer, 2, GUIDED, RATE)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny online generator folder and its export (K = 2, guided, ramped)."""
    root = tmp_path_factory.mktemp("export")
    generator, tokenizer = models()
    generator.chosen_sampling = GUIDED
    generator.save(root / "model")
    tokenizer.save(root / "model" / "tokenizer")
    check = export_listener(root / "model", root / "export", samples=2, rate=RATE, check_frames=40, seed=3)
    assert check.tokens_equal and check.first_mismatch is None and check.max_face_difference < 1e-4
    return root / "model", root / "export"


def test_the_export_describes_itself(exported: tuple[Path, Path]) -> None:
    model, folder = exported
    interface = read_interface(folder)
    assert interface["samples"] == 2 and interface["rate"] == RATE and interface["frame_samples"] == RATE // FPS
    assert interface["sampling"]["guidance"] == 3.0 and interface["check"]["tokens_equal"]
    assert [i["name"] for i in interface["inputs"]] == ["pcm", "face", "face_on", "uniforms", "speaking"]
    assert interface["turns"] == {"fade_in": 2, "fade_out": 10, "hold_seconds": 0.5}
    assert [o["name"] for o in interface["outputs"]] == ["listener_face", "listener_emotion", "tokens"]
    generator, _ = models()
    previous = next(s for s in interface["state"] if s["name"] == "previous")
    assert previous == {**previous, "shape": [2], "dtype": "int64", "initial": generator.bos}
    assert all(s["meaning"] for s in interface["inputs"] + interface["outputs"] + interface["state"])


def test_the_check_fails_a_graph_that_is_not_the_session(exported: tuple[Path, Path]) -> None:
    """The self-check can fail: the graph (temperature 0.9) against a session sampling at 0.5."""
    generator, tokenizer = models()
    other = ListenerStep(generator, tokenizer, 2, replace(GUIDED, temperature=0.5), RATE)
    check = check_export(other, exported[1] / "step.onnx", generator, tokenizer, frames=30, seed=3)
    assert not check.tokens_equal and check.first_mismatch is not None


def test_the_runtime_streams_the_export_like_the_session(exported: tuple[Path, Path]) -> None:
    """ExportedListener draws its own uniforms (HostRandom): the session fed those same numbers
    gives the same tokens; a reset starts the same conversation again."""
    model, folder = exported
    generator, tokenizer = models()
    listener = ExportedListener(folder, seed=11)
    pcm, faces, face_on = _frames(30, tokenizer, seed=2)
    speaking = check_speaking(30)
    per = RATE // FPS
    step = ListenerStep(generator, tokenizer, 2, GUIDED, RATE)
    state, random = step.initial_state(), HostRandom(11)
    runs, shown = [], []
    for _ in range(2):
        got = [listener.step(pcm[t * per:(t + 1) * per], RATE, faces[t] if face_on[t] else None, speaking[t])
               for t in range(30)]
        runs.append(np.array([f.tokens for f in got]))
        shown.append(np.array([f.face for f in got]))
        seen = set(listener.inputs_seen)
        listener.reset()
    with torch.inference_mode():
        for t in range(30):
            out = step(torch.from_numpy(pcm[t * per:(t + 1) * per]), torch.from_numpy(faces[t][None]),
                       torch.tensor([float(face_on[t])]), torch.from_numpy(random.draw((2, step.digits))),
                       torch.tensor([float(speaking[t])]), *state)
            state = list(out[3:])
            np.testing.assert_array_equal(out[2].numpy(), runs[0][t])
            np.testing.assert_allclose(out[0].numpy(), shown[0][t], atol=1e-5)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert seen == {"audio", "audio+face+read"}
    with pytest.raises(UsageError, match="44100 Hz"):
        listener.step(np.zeros(44100 // FPS, np.float32), 44100)
    with pytest.raises(UsageError, match="NaN"):
        listener.step(np.full(RATE // FPS, np.nan, np.float32), RATE)
    with pytest.raises(UsageError, match="640 mono samples"):
        listener.step(np.zeros(100, np.float32), RATE)


def test_the_cli_exports_and_streams_an_export(exported: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    model, _ = exported
    assert main(["export", "--model", str(model), "--out", str(tmp_path / "e"), "--samples", "1",
                 "--check-frames", "20"]) == 0
    said = capsys.readouterr().out
    assert "guidance 3 (ramped over 5 frames)" in said and "the same tokens on every frame" in said
    pcm, _, _ = _frames(40, models()[1])
    sf.write(tmp_path / "speaker.wav", pcm, RATE)
    assert main(["stream", "--model", str(tmp_path / "e"), "--wav", str(tmp_path / "speaker.wav"), "--fast"]) == 0
    said = capsys.readouterr().out
    assert "onnxruntime" in said and "40 frames from audio" in said
    assert main(["stream", "--model", str(tmp_path / "e"), "--wav", str(tmp_path / "speaker.wav"),
                 "--guidance", "2"]) == 2
    assert "fixed in its graph" in capsys.readouterr().err
    sf.write(tmp_path / "fast.wav", np.zeros(44100, np.float32), 44100)
    assert main(["stream", "--model", str(tmp_path / "e"), "--wav", str(tmp_path / "fast.wav"), "--fast"]) == 2
    err = capsys.readouterr().err
    assert "fast.wav" in err and "16000 Hz" in err


def test_a_damaged_export_is_named(tmp_path: Path, exported: tuple[Path, Path]) -> None:
    with pytest.raises(DataError, match="interface.json: missing"):
        ExportedListener(tmp_path)
    folder = tmp_path / "copy"
    shutil.copytree(exported[1], folder)
    interface = json.loads((folder / "interface.json").read_text())
    (folder / "interface.json").write_text(json.dumps({**interface, "format": 99}))
    with pytest.raises(DataError, match="format 99"):
        ExportedListener(folder)
    (folder / "interface.json").write_text(json.dumps(interface))
    (folder / "step.onnx").write_bytes(b"not a graph")
    with pytest.raises(DataError, match="step.onnx: unreadable ONNX graph"):
        ExportedListener(folder)


@pytest.mark.skipif(shutil.which("node") is None or not (NODE_EXAMPLE / "node_modules").is_dir(),
                    reason="Node or the example's packages absent (cd examples/node && npm install)")
def test_node_streams_the_export_with_the_same_tokens(exported: tuple[Path, Path], tmp_path: Path) -> None:
    _, folder = exported
    pcm, _, _ = _frames(30, models()[1])
    wav = tmp_path / "speaker.wav"
    sf.write(wav, pcm, RATE, subtype="PCM_16")
    run = subprocess.run(["node", str(NODE_EXAMPLE / "stream.mjs"), "--model", str(folder), "--wav", str(wav),
                          "--seed", "9", "--jsonl", "--speaking", "0.4-0.8"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    node = [json.loads(line) for line in run.stdout.splitlines()]
    samples, rate = sf.read(wav, dtype="float32")
    listener = ExportedListener(folder, seed=9)
    per = RATE // FPS
    python = [listener.step(samples[t * per:(t + 1) * per], rate, speaking=10 <= t < 20) for t in range(30)]
    assert [n["tokens"] for n in node] == [p.tokens.tolist() for p in python] and "p50" in run.stderr
    # the listener's turn reached the graph from Node: its face held, as Python's
    np.testing.assert_allclose([n["face"] for n in node], [p.face[0] for p in python], atol=1e-5)
    assert np.ptp([n["face"] for n in node][13:20], axis=0).max() < 1e-5
