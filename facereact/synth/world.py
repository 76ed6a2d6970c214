"""The dynamics of a synthetic world: how its people react, speak and are tracked.

A recipe chosen on one corpus is tuned to it. Real corpora differ in how late and how often
listeners react, which reactions they favour, how much they mirror, how fast people talk and how
long they hold the floor, and in the face tracker between the people and the files (noise, jitter,
lost frames). Each knob below is one such difference; 1.0 (or 0 for the tracker's faults) is the
demo corpus, and the default world writes exactly the files it always wrote. `room` is the
microphone's fault (reverberation, band limits, gain, noise), as the tracker's are the camera's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from facereact.errors import UsageError


@dataclass(frozen=True)
class World:
    """Each knob as KNOBS says; the defaults are the demo corpus."""

    reaction_delay: float = 1.0
    delay_spread: float = 1.0
    nod: float = 1.0
    backchannel: float = 1.0
    brow: float = 1.0
    concern: float = 1.0
    mirror: float = 1.0
    speech_rate: float = 1.0
    turn_length: float = 1.0
    tracker_noise: float = 0.0
    tracker_jitter: float = 0.0
    dropped_frames: float = 0.0
    room: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in FAULTS and not 0.0 <= value <= FAULTS[f.name]:
                raise UsageError(f"--{_flag(f.name)} {value}: within [0, {FAULTS[f.name]}]")
            if f.name not in FAULTS and not 0.05 <= value <= 5.0:
                raise UsageError(f"--{_flag(f.name)} {value}: a scale within [0.05, 5] (1 is the demo corpus)")

    def changes(self) -> dict[str, float]:
        """The knobs that differ from the demo corpus's."""
        return {k: v for k, v in asdict(self).items() if v != getattr(DEMO, k)}


KNOBS = {
    "reaction_delay": "every reaction's delay, scaled (each listener's persona scales it again)",
    "delay_spread": "the width of each reaction delay's range around its middle, scaled",
    "nod": "the chance of nodding at a speaker's phrase end, scaled",
    "backchannel": "the chance of an 'mm-hmm' at a phrase end, scaled",
    "brow": "the chance of a brow raise after emphasis or a phrase end, scaled",
    "concern": "the chance of concern after the speaker's frown, scaled",
    "mirror": "the chance of smiling back at a smile, scaled",
    "speech_rate": "syllables per second, scaled (pauses shrink alike)",
    "turn_length": "how long each person holds the floor, scaled",
    "tracker_noise": "white noise on every blendshape and emotion column (std, in their units)",
    "tracker_jitter": "white noise on the head pose (std, radians; the translation alike)",
    "dropped_frames": "share of frames the tracker loses, in bursts; a lost frame repeats the last",
    "room": "the rooms and microphones voices are heard through: reverberation, band limits, gain, noise "
            "(0 none, 1 the widest ranges; synth/recording.py)",
}
# The recording's faults (the tracker's, the room's): each knob's upper bound; 0 is none.
FAULTS = {"tracker_noise": 0.5, "tracker_jitter": 0.2, "dropped_frames": 0.5, "room": 1.0}
DEMO = World()

# Worlds that differ in earnest (docs/data.md, "Worlds"): a recipe is chosen across all of them.
WORLDS: dict[str, World] = {
    "demo": DEMO,
    # Reserved listeners: late, rarely nodding (a hum instead), seldom mirroring; long, slow turns;
    # a tracker with some noise. What is timed is small and late.
    "reserved": World(reaction_delay=1.7, delay_spread=1.5, nod=0.55, backchannel=1.6, brow=0.7, concern=0.7,
                      mirror=0.45, speech_rate=0.8, turn_length=1.6, tracker_noise=0.02, tracker_jitter=0.004),
    # Lively listeners: quick, frequent, mirroring; fast talk and short turns.
    "lively": World(reaction_delay=0.6, delay_spread=0.6, nod=1.25, backchannel=0.7, brow=1.5, concern=1.3,
                    mirror=1.4, speech_rate=1.25, turn_length=0.6, tracker_noise=0.01, tracker_jitter=0.003),
    # The demo's people through a poor tracker: noisy blendshapes and emotion, a jittery head pose
    # (its jitter sits in the nod's band), 4% of frames lost in bursts.
    "tracked": World(tracker_noise=0.06, tracker_jitter=0.012, dropped_frames=0.04),
}


def world_named(name: str, **changes: float) -> World:
    """The named world, with some knobs changed."""
    if name not in WORLDS:
        raise UsageError(f"--world {name}: one of {', '.join(WORLDS)}")
    return replace(WORLDS[name], **changes) if changes else WORLDS[name]


def _flag(name: str) -> str:
    return name.replace("_", "-")


def spread(lo: float, hi: float, scale: float) -> tuple[float, float]:
    """The range (lo, hi) widened or narrowed by `scale` around its middle; unchanged at 1 (so
    the demo world draws the very numbers it always drew)."""
    if scale == 1.0:
        return lo, hi
    mid, half = (lo + hi) / 2, scale * (hi - lo) / 2
    return max(0.0, mid - half), mid + half
