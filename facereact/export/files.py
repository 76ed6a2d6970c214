"""`facereact export`: an online generator's whole step as an ONNX graph, described, and checked.

The folder holds `step.onnx` (opset OPSET) and `interface.json`: every input and output (name,
shape, dtype, meaning), every state tensor with its starting value, the frame rate, the PCM rate
and frame size, K, the sampling baked into the graph, the resting face (a tracker's missing
translation), the host random numbers' recipe (export/host_random.py) and the self-check's result:
the same frames through the PyTorch session (generator/session.py, what `stream` runs) and
through onnxruntime, the same uniforms fed to both, must give the same tokens.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from facereact.errors import DataError
from facereact.export.step import ListenerStep
from facereact.generator.model import ReactionGenerator, load_generator
from facereact.generator.sampling import Sampling, own_sampling
from facereact.layout import EMOTION_NAMES, FACE_NAMES
from facereact.io import atomic_path, check_writable, write_text_atomic
from facereact.model_files import folder_fingerprint, read_json
from facereact.tokenizer.model import FaceTokenizer

KIND = "listener-step"
FORMAT = 2  # 2: the listener's turn-taking (the speaking input, turn.* state)
OPSET = 20
STEP_FILE = "step.onnx"
INTERFACE_FILE = "interface.json"
RANDOM = ("splitmix64: draw n (from 1) of seed s is mix(s + n * 0x9E3779B97F4A7C15 mod 2^64); "
          "uniform = (draw >> 40) * 2^-24; drawn K x digits a frame, row-major")


@dataclass
class ExportCheck:
    """PyTorch's session against onnxruntime on the same frames and uniforms."""

    frames: int
    tokens_equal: bool
    first_mismatch: int | None  # the first frame whose tokens differ (None: none)
    max_face_difference: float  # over the frames before any mismatch
    max_emotion_difference: float

    def text(self) -> str:
        same = "the same tokens on every frame" if self.tokens_equal else \
            f"tokens differ from frame {self.first_mismatch} on"
        return (f"checked: {self.frames} frames through PyTorch and onnxruntime, {same}; faces within "
                f"{self.max_face_difference:.1e}, emotions within {self.max_emotion_difference:.1e}")


def export_listener(model: str | Path, out: str | Path, samples: int = 10, rate: int = 16000,
                    sampling: Sampling | None = None, read_emotion: bool = True, check_frames: int = 750,
                    seed: int = 0, changes: Mapping[str, float] | None = None) -> ExportCheck | None:
    """Export the online generator folder `model` into `out` and check it (check_frames > 0).
    sampling: the graph's; None: the model's own, with `changes` (some of Sampling's fields) over it."""
    check_writable(out, folder=True)
    generator, tokenizer = load_generator(model)
    sampling = own_sampling(generator, changes) if sampling is None else sampling
    step = ListenerStep(generator, tokenizer, samples, sampling, rate, read_emotion).eval()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / INTERFACE_FILE).unlink(missing_ok=True)  # written last: a folder without it is no export
    with atomic_path(out / STEP_FILE) as tmp:
        _write_onnx(step, tmp)
    check = check_export(step, out / STEP_FILE, generator, tokenizer, check_frames, seed) if check_frames else None
    write_text_atomic(out / INTERFACE_FILE, json.dumps(_interface(step, model, check), indent=2) + "\n")
    return check


def _write_onnx(step: ListenerStep, path: Path) -> None:
    args = (torch.zeros(step.audio.samples), step.tokenizer.face_mean[None].clone(), torch.ones(1),
            torch.rand(step.samples, step.digits), torch.zeros(1), *step.initial_state())
    quiet = logging.getLogger("torch.onnx")
    level, quiet.level = quiet.level, logging.ERROR
    try:  # the exporter narrates its passes on stdout and warns of absent torchvision kernels
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(step, args, dynamo=True, opset_version=OPSET, verbose=False,
                                        input_names=[t.name for t in step.inputs()],
                                        output_names=[t.name for t in step.outputs()])
            program.save(str(path), external_data=False)  # one file: the weights inside the graph
    finally:
        quiet.level = level


def _interface(step: ListenerStep, model: str | Path, check: ExportCheck | None) -> dict:
    g = step.generator
    return {
        "kind": KIND, "format": FORMAT, "opset": OPSET, "graph": STEP_FILE,
        "source": {"model": str(model), "fingerprint": folder_fingerprint(model)},
        "fps": g.config.fps, "rate": step.audio.rate, "frame_samples": step.audio.samples,
        "samples": step.samples, "digits": step.digits, "levels": list(g.head.levels), "bos": g.bos,
        "sampling": asdict(step.sampling), "read_emotion": step.read_emotion, "turns": asdict(step.turns),
        "face_names": list(FACE_NAMES), "emotion_names": list(EMOTION_NAMES),
        "resting_face": [round(float(v), 7) for v in step.tokenizer.face_mean],
        "random": RANDOM,
        "inputs": [_described(t) for t in step.inputs() if not t.name.startswith("state.")],
        "outputs": [_described(t) for t in step.outputs() if not t.name.startswith("next.")],
        "state": [{**_described(t), "initial": t.initial} for t in step.state_tensors],
        "state_note": "feed state.<name> (a new conversation: every tensor filled with its 'initial'); the graph "
                      "returns next.<name>, the state for the next frame",
        "check": None if check is None else asdict(check),
    }


def _described(t) -> dict:
    return {"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "meaning": t.meaning}


def check_signal(frames: int, rate: int, fps: int, tokenizer: FaceTokenizer, seed: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A deterministic stand-in conversation for the self-check: float32 PCM of phrases (voiced
    bursts, pauses between), a drifting face, absent for the first frames and for a stretch in
    the middle (so the check crosses a face's loss and return). (pcm, faces (T, FACE_DIM), face_on (T,))."""
    rng = np.random.default_rng(seed)
    per = int(rate / fps)
    t = np.arange(frames * per) / rate
    voiced = np.zeros(frames * per)
    start = 0
    while start < len(t):
        length, pause = int(rng.uniform(0.4, 2.0) * rate), int(rng.uniform(0.15, 0.8) * rate)
        voiced[start:start + length] = 1.0
        start += length + pause
    pitch = 120 + 30 * np.sin(2 * math.pi * 0.7 * t)
    pcm = voiced * (0.2 * np.sin(2 * math.pi * np.cumsum(pitch) / rate) + 0.03 * rng.standard_normal(len(t)))
    walk = np.cumsum(rng.standard_normal((frames, tokenizer.face_mean.shape[0])), 0) * 0.05
    faces = tokenizer.face_mean.numpy() + np.tanh(walk) * tokenizer.face_std.numpy() * 0.5
    face_on = np.ones(frames, bool)
    face_on[:3] = False
    face_on[frames // 5: frames // 5 + max(1, frames // 10)] = False
    return pcm.astype(np.float32), faces.astype(np.float32), face_on


def check_speaking(frames: int) -> np.ndarray:
    """(frames,) bool: where the listener speaks in the self-check: two turns, the second starting
    while the first still fades out, and one of a single frame."""
    speaking = np.zeros(frames, bool)
    for start, end in ((0.45, 0.55), (0.57, 0.62), (0.8, 0.8)):
        speaking[int(start * frames):max(int(end * frames), int(start * frames) + 1)] = True
    return speaking


def check_export(step: ListenerStep, path: Path, generator: ReactionGenerator, tokenizer: FaceTokenizer,
                 frames: int, seed: int = 0) -> ExportCheck:
    """`frames` frames of check_signal through the PyTorch session and the graph at `path`."""
    from facereact.export.runtime import onnx_session
    from facereact.generator.session import StreamingSession

    rate, per = step.audio.rate, step.audio.samples
    pcm, faces, face_on = check_signal(frames, rate, generator.config.fps, tokenizer, seed)
    speaking = check_speaking(frames)
    session = StreamingSession(generator, tokenizer, step.samples, step.sampling, seed, step.read_emotion,
                               turns=step.turns)
    graph = onnx_session(path)
    names = [t.name for t in step.inputs()]
    state = [s.numpy() for s in step.initial_state()]
    draws = torch.Generator().manual_seed(seed)  # the session's own stream of uniforms
    first, face_diff, emotion_diff = None, 0.0, 0.0
    for t in range(frames):
        chunk = pcm[t * per:(t + 1) * per]
        ours = session.step(chunk.astype(np.float64), rate, faces[t] if face_on[t] else None, speaking=speaking[t])
        u = torch.rand(step.samples, step.digits, generator=draws).numpy()
        out = graph.run(None, dict(zip(names, [chunk, faces[t][None], np.array([float(face_on[t])], np.float32),
                                               u, np.array([float(speaking[t])], np.float32), *state])))
        state = out[3:]
        if first is None and not np.array_equal(out[2], ours.tokens):
            first = t
        if first is None:
            face_diff = max(face_diff, float(np.abs(out[0] - ours.face).max()))
            emotion_diff = max(emotion_diff, float(np.abs(out[1] - ours.emotion).max()))
    return ExportCheck(frames, first is None, first, face_diff, emotion_diff)


def read_interface(folder: str | Path) -> dict:
    """An export folder's interface.json, checked: a listener step of this format, its graph present."""
    path = Path(folder) / INTERFACE_FILE
    interface = read_json(path, "missing: not a facereact export folder (made by `facereact export`)",
                          "export interface")
    if not isinstance(interface, dict) or interface.get("kind") != KIND:
        kind = interface.get("kind") if isinstance(interface, dict) else None
        raise DataError(path, f"not a facereact export (kind {kind!r})")
    if interface.get("format") != FORMAT:
        raise DataError(path, f"export format {interface.get('format')}; this facereact reads format {FORMAT}: "
                              "export again")
    if not (Path(folder) / interface["graph"]).is_file():
        raise DataError(Path(folder) / interface["graph"], "missing: the export's graph")
    return interface


def is_export(folder: str | Path) -> bool:
    return (Path(folder) / INTERFACE_FILE).is_file()

