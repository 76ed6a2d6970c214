"""The speaker's events and the real listeners of a split (REACT 2024, or MARS's input clips and
their partners), for the behaviour figures."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facereact.data.audio import read_wav
from facereact.data.corpus import ReactCorpus
from facereact.data.eval_set import EvalSet, load_eval_set
from facereact.data.mars import AUDIO, MarsClip, MarsCorpus
from facereact.data.paths import AUDIO_DIR
from facereact.layout import FPS, MARS_FPS
from facereact.metrics.behaviour import behaviour, behaviour_row
from facereact.metrics.events import EVENT_KINDS, SpeakerEvents, speaker_events


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

    def score_clips(self, faces: list[np.ndarray]) -> tuple[dict, dict]:
        """The same for clips of any length: faces[i] (K, T_i, FACE_DIM) facing speaker i, cut to
        its events' frames (MARS: every reaction as long as its input)."""
        if len(faces) != len(self.events):
            raise ValueError(f"{len(faces)} clips of predicted faces for {len(self.events)} speakers")
        cut = [face[:, :e.frames] for face, e in zip(faces, self.events)]
        events = [_cut(e, face.shape[1]) for e, face in zip(self.events, cut)]
        figures = behaviour(events, cut, self.fps)
        return figures, behaviour_row(figures, self.figures)


def _cut(events: SpeakerEvents, frames: int) -> SpeakerEvents:
    """The events within the first `frames` frames."""
    if frames >= events.frames:
        return events
    keep = {kind: events.of(kind)[events.of(kind) < frames] for kind in EVENT_KINDS}
    return SpeakerEvents(frames, events.fps, voice=events.voice[:frames], **keep)


def load_behaviour_truth(root: str | Path, split: str, frames: int, data: EvalSet | None = None) -> BehaviourTruth:
    """Events found in every speaker's wav and face of `split` (mirrored row order) and the real
    listeners' behaviour figures, clips cut to `frames`. `data`: the split's EvalSet at `frames`
    when the caller has it (its faces are not read again)."""
    if data is None:
        data = load_eval_set(root, split, frames, with_neighbours=False)
    corpus = ReactCorpus(root, split)
    events = []
    for ref, speaker_face in zip(corpus.pairs, data.speaker_face):
        samples, rate = read_wav(ref.speaker.file(corpus.root, AUDIO_DIR))
        events.append(speaker_events(samples, rate, speaker_face, FPS))
    listeners = list(data.listener_face)
    return BehaviourTruth(events, listeners, FPS, behaviour(events, listeners, FPS))


def mars_behaviour_truth(corpus: MarsCorpus, inputs: list[MarsClip], frames: int | None = None) -> BehaviourTruth:
    """Events found in every MARS input clip's wav and face (its audio events left out where the
    release has no wav) and the real partners reacting to it, each pair cut to the shorter clip
    (and to its first `frames`, given)."""
    events, listeners = [], []
    for clip in inputs:
        face, partner = corpus.coefficients(clip), corpus.coefficients(clip.partner)
        cut = min(len(face), len(partner), frames or len(face))
        wav = clip.file(corpus.root, AUDIO)
        samples, rate = read_wav(wav) if wav.is_file() else (None, 0)
        events.append(speaker_events(samples, rate, face[:cut], MARS_FPS))
        listeners.append(partner[:cut])
    return BehaviourTruth(events, listeners, MARS_FPS, behaviour(events, listeners, MARS_FPS))
