"""The speaker's events that listeners answer, found from what every corpus has: the speaker's
audio and face channels, never a synthetic schedule or a label (docs/metrics.md, "Behaviour").

- phrase end: speech of at least half a second giving way to a quarter second or more of quiet;
- emphasis: a voiced frame clearly louder than the speaker's usual voiced level, at a local peak;
- smile, frown: the speaker's smile (frown: brow lowerer) channels rising clearly above their
  resting level, after a while below it.

Every event is a frame index of the clip at the clip's frame rate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facereact.layout import face_index

EVENT_KINDS = ("phrase_end", "emphasis", "smile", "frown")

MIN_SPEECH_S = 0.5  # a phrase: speech at least this long (a hum or a click is not one)
MIN_PAUSE_S = 0.25  # a pause: quiet at least this long; shorter gaps are within a phrase
SPEECH_OVER_FLOOR = 0.35  # speech: louder than the floor by this share of the floor-to-loud range ...
MIN_SPEECH_DB = 6.0  # ... and by at least this much; a clip with less range has no speech found
EMPHASIS_DB = 6.0  # emphasis: this much over the speaker's median loud frame
FACE_REFRACTORY_S = 1.0  # a face event needs this long below threshold before it

# The speaker's face channels whose rise marks an event, with the smallest rise that counts (the
# channels are in [0, 1]: 0.1 is a tenth of a full smile) on top of 3 robust deviations.
FACE_EVENTS: dict[str, tuple[tuple[str, ...], float]] = {
    "smile": (("mouthSmileLeft", "mouthSmileRight"), 0.1),
    "frown": (("browDownLeft", "browDownRight"), 0.1),
}


@dataclass(frozen=True)
class SpeakerEvents:
    """Frames of each kind of event in one clip of `frames` frames at `fps`."""

    frames: int
    fps: float
    phrase_end: np.ndarray
    emphasis: np.ndarray
    smile: np.ndarray
    frown: np.ndarray
    voice: np.ndarray  # (frames,) bool: the speaker's voice activity found

    def of(self, kind: str) -> np.ndarray:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind '{kind}', expected one of {EVENT_KINDS}")
        return getattr(self, kind)


def frame_energy_db(samples: np.ndarray, rate: int, frames: int, fps: float) -> np.ndarray:
    """(frames,) mean power of each video frame's own samples in dB; missing samples are quiet."""
    hop = rate / fps
    edges = np.round(np.arange(frames + 1) * hop).astype(np.int64)
    x = np.zeros(edges[-1])
    n = min(len(samples), len(x))
    x[:n] = samples[:n]
    power = np.add.reduceat(x * x, edges[:-1]) / np.maximum(np.diff(edges), 1)
    return 10.0 * np.log10(power + 1e-12)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True in a 1-d bool array."""
    padded = np.concatenate([[False], mask, [False]])
    change = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(change[::2].tolist(), change[1::2].tolist()))


def voice_activity(energy_db: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Loud frames (bool) and speech (bool, loud frames joined across gaps shorter than a pause).

    The threshold sits between the clip's quiet floor (10th percentile) and its loud level (95th),
    so it follows the recording's gain and noise; a clip without that contrast has no speech."""
    floor, loud_level = np.percentile(energy_db, [10, 95])
    span = loud_level - floor
    if span < MIN_SPEECH_DB:
        empty = np.zeros(len(energy_db), bool)
        return empty, empty
    loud = energy_db > floor + max(MIN_SPEECH_DB, SPEECH_OVER_FLOOR * span)
    speech = loud.copy()
    min_pause = int(np.ceil(MIN_PAUSE_S * fps))
    for a, b in _runs(~loud):
        if 0 < a and b < len(loud) and b - a < min_pause:
            speech[a:b] = True
    return loud, speech


def phrase_ends(speech: np.ndarray, fps: float) -> np.ndarray:
    """First quiet frame after each phrase that a full pause follows (a clip's last words, whose
    pause is not seen whole, are not counted)."""
    min_speech, min_pause = MIN_SPEECH_S * fps, int(np.ceil(MIN_PAUSE_S * fps))
    ends = [b for a, b in _runs(speech) if b - a >= min_speech and b + min_pause <= len(speech)
            and not speech[b:b + min_pause].any()]
    return np.asarray(ends, np.int64)


def emphases(energy_db: np.ndarray, loud: np.ndarray, fps: float) -> np.ndarray:
    """Loud frames at a local energy peak (within +-2 frames), EMPHASIS_DB over the median loud
    frame, at least half a second apart."""
    if loud.sum() < 3:
        return np.zeros(0, np.int64)
    level = np.median(energy_db[loud])
    padded = np.pad(energy_db, 2, constant_values=-np.inf)
    peak = np.max(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1) == energy_db
    found: list[int] = []
    gap = 0.5 * fps
    for i in np.flatnonzero(loud & peak & (energy_db > level + EMPHASIS_DB)):
        if not found or i - found[-1] >= gap:
            found.append(int(i))
    return np.asarray(found, np.int64)


def face_onsets(signal: np.ndarray, min_rise: float, fps: float) -> np.ndarray:
    """Frames where `signal` rises through median + max(min_rise, 3 robust deviations) after at
    least FACE_REFRACTORY_S below it."""
    median = np.median(signal)
    deviation = 1.4826 * np.median(np.abs(signal - median))
    above = signal > median + max(min_rise, 3.0 * deviation)
    quiet = int(round(FACE_REFRACTORY_S * fps))
    onsets, last_above = [], -quiet - 1
    for i in np.flatnonzero(above):
        if i - last_above > quiet and i > 0:
            onsets.append(int(i))
        last_above = i
    return np.asarray(onsets, np.int64)


def speaker_events(samples: np.ndarray | None, rate: int, face: np.ndarray, fps: float) -> SpeakerEvents:
    """The events of one speaker clip: `samples` mono audio at `rate` Hz (None: no audio, so no
    audio events), `face` (T, FACE_DIM) at `fps`."""
    frames = len(face)
    if samples is None:
        loud = speech = np.zeros(frames, bool)
        ends = emphasis = np.zeros(0, np.int64)
    else:
        energy = frame_energy_db(samples, rate, frames, fps)
        loud, speech = voice_activity(energy, fps)
        ends, emphasis = phrase_ends(speech, fps), emphases(energy, loud, fps)
    onsets = {kind: face_onsets(face[:, [face_index(n) for n in names]].mean(1), rise, fps)
              for kind, (names, rise) in FACE_EVENTS.items()}
    return SpeakerEvents(frames, fps, ends, emphasis, onsets["smile"], onsets["frown"], speech)
