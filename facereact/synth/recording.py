"""The microphone's side of a synthetic corpus: whose voice speaks (the formant voice, or espeak-ng
speech: synth/espeak.py) and the room and microphone it is heard through (data/rooms.py; the
world's `room` knob).

A model that hears only clean synthetic speech learns the corpus's microphone too; a robot's is
another. Both are drawn from their own random stream, so a corpus's people, schedules and faces do
not depend on its voice or room, and the defaults (formant voice, no room) write the very files
they always did.
"""
from __future__ import annotations

import numpy as np

from facereact.data.rooms import through_room
from facereact.errors import UsageError
from facereact.synth import espeak
from facereact.synth.conversation import PersonTrack

VOICES = ("formant", *espeak.POOLS)  # formant, espeak (training voices), espeak-heldout (others)


def check_voice(voice: str) -> None:
    if voice not in VOICES:
        raise UsageError(f"--voice {voice}: one of {', '.join(VOICES)}")
    if voice != "formant":
        espeak.require()


def recording_seed(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """A session's voices' and rooms' own stream: a child key spawn() never reaches (nor the
    tracker's, synth/tracker.py)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 2 ** 31 + 1))


def recorded(track: PersonTrack, formant: np.ndarray, rate: int, voice: str, room: float,
             rng: np.random.Generator) -> np.ndarray:
    """A person's clip as the microphone heard it: the formant rendering (already drawn) or the
    espeak pool's voice, through the room."""
    audio = formant if voice == "formant" else espeak.render_espeak(track, len(formant), rate, rng, voice)
    return through_room(audio, rate, room, rng)
