"""Behaviour a person sees: event-locked reactions and head motion (ours, not the challenge's;
docs/metrics.md, "Behaviour").

For each reaction, the listener's activity in that reaction's channels (a nod: head pitch energy in
the nodding band; a smile: the smile channels above their median) is divided by its mean over the
clip and averaged around the speaker's events (metrics/events.py): the curve says when the
listener reacts, its mean over the reaction's window after the event is the lift (1.0: blind to the
event), its maximum the peak and its latency. K generated reactions' activity is averaged before
dividing. Head motion: nods per minute and the pitch and yaw power per frequency band, against the
real listeners' on the same clips.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facereact.layout import face_index
from facereact.metrics.events import SpeakerEvents

NOD_BAND_HZ = (1.2, 3.5)  # a nod is head pitch at about 2 Hz; drift is slower, jitter faster
SMOOTH_S = 0.3  # activity envelopes are averaged over this long
CURVE_S = (-1.0, 3.0)  # the curve's span around each event
NOD_AMPLITUDE_RAD = 0.02  # a nod: the band's amplitude above this (about 1.1 degrees)
HEAD_BANDS_HZ = ((0.0, 0.5), (0.5, 1.2), NOD_BAND_HZ, (3.5, None))  # None: up to Nyquist


@dataclass(frozen=True)
class Reaction:
    """One reaction: the speaker's event it answers and the listener's channels that show it."""

    event: str
    channels: tuple[str, ...]
    window_s: tuple[float, float]  # where after the event the lift is measured
    label: str
    band_hz: tuple[float, float] | None = None  # a movement: its energy in this band, not its level


REACTIONS: dict[str, Reaction] = {
    "nod": Reaction("phrase_end", ("pitch",), (0.1, 1.5), "nod after a phrase end", NOD_BAND_HZ),
    "mmhmm": Reaction("phrase_end", ("mouthClose", "mouthPressLeft", "mouthPressRight", "mouthRollLower"),
                      (0.1, 1.0), "\"mm-hmm\" (lips pressed) after a phrase end"),
    "smile": Reaction("smile", ("mouthSmileLeft", "mouthSmileRight"), (0.5, 3.0), "smile answering a smile"),
    "brow": Reaction("emphasis", ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"), (0.1, 1.2),
                     "brow raise after emphasis"),
    "concern": Reaction("frown", ("mouthFrownLeft", "mouthFrownRight", "mouthShrugLower"), (0.3, 2.5),
                        "concern after a frown"),
}


def _smooth(x: np.ndarray, fps: float) -> np.ndarray:
    """Moving average along the last axis over SMOOTH_S (same length, edges averaged over less)."""
    width = max(1, int(round(SMOOTH_S * fps)))
    pad = [(0, 0)] * (x.ndim - 1) + [(width // 2 + 1, width - 1 - width // 2)]
    sums = np.cumsum(np.pad(x, pad), axis=-1)
    counts = np.cumsum(np.pad(np.ones(x.shape[-1]), pad[-1]))
    return (sums[..., width:] - sums[..., :-width]) / (counts[width:] - counts[:-width])


def band_pass(x: np.ndarray, fps: float, band: tuple[float, float | None]) -> np.ndarray:
    """Zero-phase band-pass along the last axis (the FFT's bins outside the band set to zero),
    after removing each series' linear trend."""
    t = np.arange(x.shape[-1])
    centred = x - x.mean(-1, keepdims=True)
    slope = (centred * (t - t.mean())).sum(-1, keepdims=True) / ((t - t.mean()) ** 2).sum()
    spectrum = np.fft.rfft(centred - slope * (t - t.mean()), axis=-1)
    freqs = np.fft.rfftfreq(x.shape[-1], 1.0 / fps)
    keep = (freqs >= band[0]) & (freqs < (band[1] if band[1] is not None else np.inf))
    return np.fft.irfft(spectrum * keep, n=x.shape[-1], axis=-1)


def activity(face: np.ndarray, reaction: Reaction, fps: float) -> np.ndarray:
    """(..., T, FACE_DIM) -> (..., T): how much of `reaction` the face shows at each frame."""
    channels = face[..., [face_index(n) for n in reaction.channels]].mean(-1)
    if reaction.band_hz is not None:  # a nod: band energy, not the angle
        return _smooth(band_pass(channels, fps, reaction.band_hz) ** 2, fps)
    return _smooth(np.maximum(channels - np.median(channels, axis=-1, keepdims=True), 0.0), fps)


def _clip_activity(face: np.ndarray, reaction: Reaction, fps: float) -> np.ndarray:
    """(T,) activity of one listener clip, face (T, FACE_DIM) or K reactions (K, T, FACE_DIM), whose
    activities are averaged before any dividing."""
    trace = activity(face, reaction, fps)
    return trace.mean(0) if trace.ndim == 2 else trace


def _event_locked(trace: np.ndarray, events: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of trace[event + offset] over events, per offset (frames outside the clip
    left out)."""
    at = events[:, None] + offsets[None, :]
    inside = (at >= 0) & (at < len(trace))
    values = np.where(inside, trace[np.clip(at, 0, len(trace) - 1)], 0.0)
    return values.sum(0), inside.sum(0)


def reaction_response(events: list[SpeakerEvents], listeners: list[np.ndarray], reaction: Reaction,
                      fps: float) -> dict:
    """The event-locked response of `reaction` over clips: listeners[i] (T, FACE_DIM) or
    (K, T, FACE_DIM) faces facing the speaker whose events are events[i]."""
    offsets = np.arange(int(round(CURVE_S[0] * fps)), int(round(CURVE_S[1] * fps)) + 1)
    sums, counts, n_events = np.zeros(len(offsets)), np.zeros(len(offsets)), 0
    for clip_events, face in zip(events, listeners):
        trace = _clip_activity(face, reaction, fps)
        level = trace.mean()
        found = clip_events.of(reaction.event)
        if level <= 1e-12 or len(found) == 0:  # a still face shows no reaction to time
            continue
        s, c = _event_locked(trace / level, found[found < len(trace)], offsets)
        sums, counts, n_events = sums + s, counts + c, n_events + len(found)
    if n_events == 0:
        return {"events": 0, "lift": None, "peak": None, "peak_s": None, "curve": None,
                "curve_s": (offsets / fps).round(4).tolist()}
    curve = sums / np.maximum(counts, 1)
    window = (offsets >= round(reaction.window_s[0] * fps)) & (offsets <= round(reaction.window_s[1] * fps))
    after = offsets >= 0
    peak = int(np.argmax(np.where(after, curve, -np.inf)))
    return {"events": n_events, "lift": float(curve[window].mean()), "peak": float(curve[peak]),
            "peak_s": float(offsets[peak] / fps), "curve": curve.round(5).tolist(),
            "curve_s": (offsets / fps).round(4).tolist()}


def lift_parts(events: list[SpeakerEvents], listeners: list[np.ndarray], reaction: Reaction,
               fps: float) -> tuple[float, float]:
    """The lift's two parts in the channels' own units: (the reaction's mean activity over the clips,
    its mean over the reaction's window after each event). Where a lift is off, they say whether the
    reaction after the events is, or the face elsewhere (too calm, too busy). For one clip whose
    windows lie inside it, their ratio is the lift."""
    lo, hi = round(reaction.window_s[0] * fps), round(reaction.window_s[1] * fps)
    levels, after = [], []
    for clip_events, face in zip(events, listeners):
        trace = _clip_activity(face, reaction, fps)
        levels.append(trace.mean())
        after += [trace[e + lo:e + hi + 1].mean() for e in clip_events.of(reaction.event) if e + lo < len(trace)]
    return float(np.mean(levels)), float(np.mean(after)) if after else float("nan")


def nod_envelope(faces: np.ndarray, fps: float) -> np.ndarray:
    """(..., T, FACE_DIM) -> (..., T): the nodding band's amplitude envelope in radians (centred,
    SMOOTH_S wide)."""
    return np.sqrt(2.0 * _smooth(band_pass(faces[..., face_index("pitch")], fps, NOD_BAND_HZ) ** 2, fps))


def nod_onsets(faces: np.ndarray, fps: float) -> np.ndarray:
    """(..., T, FACE_DIM) -> (..., T) bool: the frames where a nod starts (the nodding band's
    amplitude envelope rises above NOD_AMPLITUDE_RAD)."""
    return rising(nod_envelope(faces, fps) > NOD_AMPLITUDE_RAD)


def rising(above: np.ndarray) -> np.ndarray:
    """(..., T) bool -> the frames where it turns True (never the first)."""
    onsets = np.zeros_like(above)
    onsets[..., 1:] = above[..., 1:] & ~above[..., :-1]
    return onsets


def head_motion(listeners: list[np.ndarray], fps: float) -> dict:
    """Nods per minute and the head's pitch and yaw power in each band (the mean square of the
    band-passed angle, rad^2), averaged over clips and reactions."""
    nods, minutes = 0.0, 0.0
    power = {axis: np.zeros(len(HEAD_BANDS_HZ)) for axis in ("pitch", "yaw")}
    for face in listeners:
        faces = face[None] if face.ndim == 2 else face
        nods += nod_onsets(faces, fps).sum() / len(faces)
        minutes += faces.shape[-2] / fps / 60.0
        for axis in power:
            for b, band in enumerate(HEAD_BANDS_HZ):
                power[axis][b] += (band_pass(faces[..., face_index(axis)], fps, band) ** 2).mean()
    names = [f"{lo:g}-{hi:g}Hz" if hi is not None else f">{lo:g}Hz" for lo, hi in HEAD_BANDS_HZ]
    return {"nods_per_min": float(nods / minutes) if minutes else None,
            **{f"{axis}_power": dict(zip(names, (p / max(len(listeners), 1)).tolist())) for axis, p in power.items()}}


def spectrum_distance(head: dict, reference: dict) -> float:
    """Mean |log10| ratio of pitch and yaw band powers to the reference's (0: the same spectrum)."""
    ratios = [np.log10((head[axis][band] + 1e-12) / (reference[axis][band] + 1e-12))
              for axis in ("pitch_power", "yaw_power") for band in reference[axis]]
    return float(np.mean(np.abs(ratios)))


def behaviour(events: list[SpeakerEvents], listeners: list[np.ndarray], fps: float) -> dict:
    """Every reaction's event-locked response and the head's motion, for one set of listeners."""
    if len(events) != len(listeners):
        raise ValueError(f"{len(events)} speakers' events for {len(listeners)} listeners")
    return {"reactions": {name: reaction_response(events, listeners, r, fps) for name, r in REACTIONS.items()},
            "head": head_motion(listeners, fps)}


# The behaviour table's columns: how each is judged ("closest_to_gt": nearest the real listeners).
PEAK_COLUMNS = ("nod", "mmhmm", "smile")
BEHAVIOUR_COLUMNS = {**{f"{name} lift": "closest_to_gt" for name in REACTIONS},
                     **{f"{name} peak s": "closest_to_gt" for name in PEAK_COLUMNS},
                     "nods/min": "closest_to_gt", "head spectrum": "min"}
BEHAVIOUR_NOTE = ("Ours, not the challenge's (docs/metrics.md, \"Behaviour\"): each reaction's lift after the "
                  "speaker's events (1.0: blind to them) and its peak's latency, nods per minute, and the head's "
                  "pitch and yaw spectrum's mean |log10| ratio to the real listeners'. Bold: nearest the real "
                  "listeners (GroundTruth); head spectrum: lowest.")


def behaviour_row(figures: dict, reference: dict | None) -> dict:
    """One table row of `behaviour()`'s figures; the head spectrum against the reference's."""
    reactions = figures["reactions"]
    row = {f"{name} lift": r["lift"] for name, r in reactions.items()}
    row.update({f"{name} peak s": reactions[name]["peak_s"] for name in PEAK_COLUMNS})
    row["nods/min"] = figures["head"]["nods_per_min"]
    if reference is not None:
        row["head spectrum"] = spectrum_distance(figures["head"], reference["head"])
    return row
