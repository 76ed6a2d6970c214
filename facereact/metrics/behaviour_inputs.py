"""The speaker's events and the real listeners of a REACT 2024 split, for the behaviour figures."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facereact.data.audio import read_wav
from facereact.data.corpus import ReactCorpus
from facereact.data.paths import AUDIO_DIR
from facereact.layout import FPS
from facereact.metrics.behaviour import behaviour, behaviour_row
from facereact.metrics.events import SpeakerEvents, speaker_events


@dataclass
class BehaviourTruth:
    """Row k: the events of pair k's speaker and the real listener facing them, cut to `frames`."""

    events: list[SpeakerEvents]
    listener_face: list[np.ndarray]  # (frames, FACE_DIM) each
    fps: float
    figures: dict  # behaviour() of the real listeners

    def score(self, pred_face: np.ndarray) -> tuple[dict, dict]:
        """behaviour() of predictions (N, K, T, FACE_DIM) in the split's row order, and its table row."""
        if len(pred_face) != len(self.events):
            raise ValueError(f"{len(pred_face)} rows of predicted faces for a split of {len(self.events)} pairs")
        frames = min(pred_face.shape[2], self.events[0].frames)
        figures = behaviour([_cut(e, frames) for e in self.events], list(pred_face[:, :, :frames]), self.fps)
        return figures, behaviour_row(figures, self.figures)


def _cut(events: SpeakerEvents, frames: int) -> SpeakerEvents:
    """The events within the first `frames` frames."""
    if frames >= events.frames:
        return events
    keep = {kind: getattr(events, kind)[getattr(events, kind) < frames]
            for kind in ("phrase_end", "emphasis", "smile", "frown")}
    return SpeakerEvents(frames, events.fps, voice=events.voice[:frames], **keep)


def load_behaviour_truth(root: str | Path, split: str, frames: int) -> BehaviourTruth:
    """Events found in every speaker's wav and face of `split` (mirrored row order) and the real
    listeners' behaviour figures, clips cut to `frames`."""
    corpus = ReactCorpus(root, split, clip_frames=frames)
    events, listeners = [], []
    for i, ref in enumerate(corpus.pairs):
        pair = corpus.load_pair(i, with_audio=False)
        samples, rate = read_wav(ref.speaker.file(corpus.root, AUDIO_DIR))
        events.append(speaker_events(samples, rate, pair.speaker_face, FPS))
        listeners.append(pair.listener_face)
    return BehaviourTruth(events, listeners, FPS, behaviour(events, listeners, FPS))
