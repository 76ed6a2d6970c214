"""A synthetic person's character: how expressive, how fast, which reactions they favour."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facereact.layout import PERSONALITY_NAMES


@dataclass(frozen=True)
class Persona:
    expressiveness: float  # scales every gesture's amplitude
    speed: float  # scales reaction delays (< 1 reacts faster)
    pitch_hz: float  # voice fundamental
    nod: float  # chance of nodding at a speaker's phrase end
    backchannel: float  # chance of an "mm-hmm" at a phrase end
    mirror_smile: float  # chance of smiling back at a speaker's smile
    brow: float  # chance of a brow raise after the speaker's emphasis
    blink_rate: float  # blinks per second
    rest_smile: float  # resting expression offsets
    rest_brow: float
    head_motion: float  # amplitude of slow head drift


# Each trait's range (uniform); the voice's pitch is drawn separately, from a low or a high band.
RANGES: dict[str, tuple[float, float]] = {
    "expressiveness": (0.6, 1.3), "speed": (0.7, 1.4), "nod": (0.35, 0.8), "backchannel": (0.1, 0.4),
    "mirror_smile": (0.45, 0.9), "brow": (0.2, 0.6), "blink_rate": (0.2, 0.45), "rest_smile": (0.0, 0.15),
    "rest_brow": (0.0, 0.1), "head_motion": (0.5, 1.5)}


def sample_persona(rng: np.random.Generator, shift: float = 0.0) -> Persona:
    """A persona; `shift` moves every trait's range by that share of its width (0.15: 15% up), for
    a corpus of other people than the demo's (a recipe is confirmed on both)."""
    def draw(trait: str) -> float:
        lo, hi = RANGES[trait]
        return float(rng.uniform(lo + shift * (hi - lo), hi + shift * (hi - lo)))

    # The draws keep the order they always had, so shift 0 writes the same people as before.
    expressiveness, speed = draw("expressiveness"), draw("speed")
    pitch_hz = float(rng.choice([rng.uniform(95, 140), rng.uniform(170, 240)]))
    return Persona(expressiveness=expressiveness, speed=speed, pitch_hz=pitch_hz, nod=draw("nod"),
                   backchannel=draw("backchannel"), mirror_smile=draw("mirror_smile"), brow=draw("brow"),
                   blink_rate=draw("blink_rate"), rest_smile=draw("rest_smile"), rest_brow=draw("rest_brow"),
                   head_motion=draw("head_motion"))


# Big Five from persona traits, for the personality files: (trait, its range, True if a high trait
# is a high score). Nod and backchannel rates have no Big Five: they stay the listener's own.
TRAIT_MAP = {big_five: (trait, *RANGES[trait], rising) for big_five, trait, rising in (
    ("Extraversion", "expressiveness", True), ("Agreeableness", "mirror_smile", True),
    ("Conscientiousness", "speed", False), ("Neuroticism", "blink_rate", True), ("Openness", "brow", True))}
assert tuple(TRAIT_MAP) == PERSONALITY_NAMES


def big_five(persona: Persona) -> np.ndarray:
    """Persona traits on the release's 1..5 personality scale."""
    out = []
    for name, lo, hi, rising in TRAIT_MAP.values():
        share = np.clip((getattr(persona, name) - lo) / (hi - lo), 0.0, 1.0)
        out.append(1.0 + 4.0 * (share if rising else 1.0 - share))
    return np.array(out)
