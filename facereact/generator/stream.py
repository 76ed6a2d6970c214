"""`facereact stream`: replay a recording through the streaming session and report latency."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facereact.data.audio import check_rate, read_wav
from facereact.data.clip_io import load_face
from facereact.data.errors import DataError
from facereact.generator.session import StreamingSession
from facereact.layout import EMOTION_DIM, FPS


@dataclass
class StreamReport:
    frames: int
    latencies_ms: np.ndarray
    late_frames: int  # steps that took longer than one frame (40 ms)

    def text(self) -> str:
        lat = self.latencies_ms
        return (f"{self.frames} frames; step latency p50 {np.percentile(lat, 50):.2f} ms, "
                f"p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms; "
                f"{1000.0 / lat.mean():.0f} frames/s; {self.late_frames} frames over the {1000 / FPS:.0f} ms budget")


def replay(session: StreamingSession, wav: str | Path, face_file: str | Path | None = None,
           realtime: bool = True, frames: int | None = None) -> StreamReport:
    """Feed the wav (and the speaker's face, if given; else a neutral face) frame by frame."""
    samples, rate = read_wav(wav)
    try:
        check_rate(rate)
    except DataError as exc:
        raise DataError(wav, exc.problem) from None
    per_frame = int(rate / FPS)
    n = len(samples) // per_frame
    if n == 0:
        raise DataError(wav, f"{len(samples)} samples, shorter than one frame ({per_frame} samples at {rate} Hz)")
    faces = load_face(Path(face_file)) if face_file else None
    if faces is not None:
        n = min(n, len(faces))
    n = n if frames is None else min(n, frames)
    neutral_face = session.tokenizer.face_mean.numpy()
    neutral_emotion = np.zeros(EMOTION_DIM, np.float32)  # emotion of the speaker is not streamed
    latencies = []
    late = 0
    start = time.perf_counter()
    for t in range(n):
        t0 = time.perf_counter()
        session.step(samples[t * per_frame:(t + 1) * per_frame], rate,
                     faces[t] if faces is not None else neutral_face, neutral_emotion)
        took = time.perf_counter() - t0
        latencies.append(took * 1000)
        late += took > 1 / FPS
        if realtime:  # wait for the next frame's audio to "arrive"
            time.sleep(max(0.0, start + (t + 1) / FPS - time.perf_counter()))
    return StreamReport(n, np.array(latencies), late)
