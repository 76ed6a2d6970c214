"""A synthetic person's character: how expressive, how fast, which reactions they favour."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def sample_persona(rng: np.random.Generator) -> Persona:
    return Persona(
        expressiveness=float(rng.uniform(0.6, 1.3)),
        speed=float(rng.uniform(0.7, 1.4)),
        pitch_hz=float(rng.choice([rng.uniform(95, 140), rng.uniform(170, 240)])),
        nod=float(rng.uniform(0.35, 0.8)),
        backchannel=float(rng.uniform(0.1, 0.4)),
        mirror_smile=float(rng.uniform(0.45, 0.9)),
        brow=float(rng.uniform(0.2, 0.6)),
        blink_rate=float(rng.uniform(0.2, 0.45)),
        rest_smile=float(rng.uniform(0.0, 0.15)),
        rest_brow=float(rng.uniform(0.0, 0.1)),
        head_motion=float(rng.uniform(0.5, 1.5)),
    )
