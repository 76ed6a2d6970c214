"""`facereact stream`: replay a recording through the streaming session and report latency."""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facereact.data.audio import read_wav
from facereact.data.clip_io import load_face
from facereact.errors import DataError
from facereact.generator.session import StreamingSession
from facereact.generator.turns import speaking_frames
from facereact.layout import FPS, face_from_tracker


@dataclass
class StreamReport:
    frames: int
    latencies_ms: np.ndarray
    late_frames: int  # steps that took longer than one frame (40 ms at 25 fps)
    inputs: str  # the input set the stream had (generator/inputs.py)
    fps: int = FPS

    def text(self) -> str:
        lat = self.latencies_ms
        return (f"{self.frames} frames from {self.inputs}; step latency p50 {np.percentile(lat, 50):.2f} ms, "
                f"p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms; "
                f"{1000.0 / lat.mean():.0f} frames/s; {self.late_frames} frames over the {1000 / self.fps:.0f} ms budget")


def load_face_track(path: str | Path) -> np.ndarray | list[dict[str, float]]:
    """A speaker face track: a (T, FACE_DIM) .npy, or a .csv whose header names ARKit blendshapes and
    pitch, yaw, roll (and tx, ty, tz), one tracker frame a row (checked here; frames without
    translation get the model's resting head in the session)."""
    path = Path(path)
    if path.suffix.lower() != ".csv":
        return load_face(path)
    if not path.is_file():
        raise DataError(path, "missing face track")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise DataError(path, "no frames (a header of face names, then one row a frame)")
    frames = []
    for number, row in enumerate(rows, start=2):
        try:
            frame = {k: float(v) for k, v in row.items()}
            face_from_tracker(frame, np.zeros(3))
        except (TypeError, ValueError) as exc:
            raise DataError(path, f"line {number}: {exc}") from None
        frames.append(frame)
    return frames


def replay(session: StreamingSession, wav: str | Path, face_file: str | Path | None = None,
           realtime: bool = True, frames: int | None = None,
           speaking: list[tuple[float, float]] | None = None) -> StreamReport:
    """Feed the wav (and the speaker's face track, if given: else audio alone) frame by frame to a
    session, or to anything with its `fps`, `check_rate`, `step` and `inputs_seen` (an export on
    onnxruntime: export/runtime.py); speaking: (start, end) seconds where the listener itself
    speaks (generator/turns.py)."""
    samples, rate = read_wav(wav)
    try:
        session.check_rate(rate)
    except DataError as exc:
        raise DataError(wav, exc.problem) from None
    fps = session.fps
    per_frame = int(rate / fps)
    n = len(samples) // per_frame
    if n == 0:
        raise DataError(wav, f"{len(samples)} samples, shorter than one frame ({per_frame} samples at {rate} Hz)")
    faces = load_face_track(face_file) if face_file else None
    if faces is not None:
        n = min(n, len(faces))
    n = n if frames is None else min(n, frames)
    talking = speaking_frames(speaking or [], n, fps)
    latencies = []
    late = 0
    start = time.perf_counter()
    for t in range(n):
        t0 = time.perf_counter()
        session.step(samples[t * per_frame:(t + 1) * per_frame], rate, None if faces is None else faces[t],
                     speaking=bool(talking[t]))
        took = time.perf_counter() - t0
        latencies.append(took * 1000)
        late += took > 1 / fps
        if realtime:  # wait for the next frame's audio to "arrive"
            time.sleep(max(0.0, start + (t + 1) / fps - time.perf_counter()))
    return StreamReport(n, np.array(latencies), late, " and ".join(sorted(session.inputs_seen)), fps)
