"""An export (`facereact export`) run on onnxruntime: what `facereact stream --model EXPORT` uses,
and the pattern any host follows (examples/node/stream.mjs is the same loop in JavaScript)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from facereact.errors import DataError, UsageError
from facereact.export.files import read_interface
from facereact.export.host_random import HostRandom
from facereact.generator.inputs import describe, face_frame
from facereact.generator.session import ListenerFrame


def onnx_session(path: str | Path, threads: int = 1):
    """An onnxruntime session for a step graph: one thread (a frame is small work; a server runs
    many conversations side by side), every graph optimisation."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise UsageError("running an export needs onnxruntime: pip install 'facereact[export]'") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for a damaged graph
        raise DataError(path, f"unreadable ONNX graph ({exc})") from None


class ExportedListener:
    """One conversation through an export, frame by frame; the uniforms from HostRandom(seed)."""

    def __init__(self, folder: str | Path, seed: int = 0, threads: int = 1, graph=None,
                 interface: dict | None = None) -> None:
        """graph and interface: an onnxruntime session of this export and its interface, already
        made (a server shares one among its conversations)."""
        self.folder = Path(folder)
        self.interface = read_interface(folder) if interface is None else interface
        self.graph = onnx_session(self.folder / self.interface["graph"], threads) if graph is None else graph
        self.fps, self.rate = self.interface["fps"], self.interface["rate"]
        self.samples, self.digits = self.interface["samples"], self.interface["digits"]
        self.resting = np.asarray(self.interface["resting_face"], np.float32)
        self.seed = seed
        self._inputs = [i["name"] for i in self.interface["inputs"]] + \
            [f"state.{s['name']}" for s in self.interface["state"]]
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """A new conversation: every state tensor at its starting value, the uniforms reseeded."""
        self.random = HostRandom(self.seed if seed is None else seed)
        self.state = [np.full(s["shape"], s["initial"], np.dtype(s["dtype"])) for s in self.interface["state"]]
        self.inputs_seen: set[str] = set()

    def check_rate(self, rate: int) -> None:
        """DataError(None, why) unless this is the rate the graph hears."""
        if rate != self.rate:
            raise DataError(None, f"{rate} Hz audio, where the export hears {self.rate} Hz (export again with "
                                  f"--rate {rate})")

    def step(self, samples: np.ndarray, rate: int, face: np.ndarray | Mapping[str, float] | None = None,
             speaking: bool = False) -> ListenerFrame:
        """StreamingSession.step's contract: this frame's mono samples at `rate` (the export's),
        the speaker's face (coefficients or tracker names) or None, whether the listener speaks."""
        if rate != self.rate:
            raise UsageError(f"this export hears {self.rate} Hz audio, got {rate} Hz (export again with --rate {rate})")
        if np.shape(samples) != (self.interface["frame_samples"],):
            raise UsageError(f"one frame at {rate} Hz is {self.interface['frame_samples']} mono samples, "
                             f"got shape {np.shape(samples)}")
        samples = np.asarray(samples, np.float32)
        if not np.isfinite(samples).all():
            raise UsageError("this frame's audio holds NaN or infinite samples")
        face = face_frame(face, self.resting)
        self.inputs_seen.add(describe(face is not None, False, face is not None and self.interface["read_emotion"]))
        feeds = [samples, (self.resting if face is None else face)[None],
                 np.array([0.0 if face is None else 1.0], np.float32),
                 self.random.draw((self.samples, self.digits)), np.array([float(bool(speaking))], np.float32),
                 *self.state]
        out = self.graph.run(None, dict(zip(self._inputs, feeds)))
        self.state = out[3:]
        return ListenerFrame(out[0], out[1], out[2])
