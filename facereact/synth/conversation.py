"""The event schedule of one clip of a dyadic conversation.

Person 0 leads (talks most), person 1 takes short turns. Each person's own behaviour (speech,
emphasis, spontaneous smiles and frowns) is drawn first; then each reacts causally, with its
persona's delays and random choice among appropriate reactions, to the other's behaviour:
nods or "mm-hmm" after phrase ends, smiles a second or so after the other's smiles, brow raises
after emphasis, concern after frowns. Reactions answer only spontaneous events, so there is no
feedback loop and one pass suffices.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facereact.synth.persona import Persona
from facereact.synth.world import DEMO, World, spread

VOWELS = "aeiou"


@dataclass
class Syllable:
    start: float
    duration: float
    vowel: str
    stressed: bool


@dataclass
class Gesture:
    """A face movement: kind in {brow, nod, smile, frown, concern, mmhmm, beat}."""

    kind: str
    start: float
    duration: float
    amplitude: float
    source: str = "spontaneous"  # speech | spontaneous | reaction


@dataclass
class PersonTrack:
    persona: Persona
    phrases: list[tuple[float, float]] = field(default_factory=list)
    syllables: list[Syllable] = field(default_factory=list)
    gestures: list[Gesture] = field(default_factory=list)

    def speaking(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.phrases)

    def spontaneous(self, kind: str) -> list[Gesture]:
        return [g for g in self.gestures if g.kind == kind]


def _speak_turn(track: PersonTrack, start: float, end: float, rng: np.random.Generator, world: World) -> None:
    """Phrases of 1-3 s with short pauses (longer for slow talkers), syllables at about 4.5 per
    second, some stressed."""
    t = start
    while t < end - 0.6:
        phrase_end = min(end, t + rng.uniform(1.0, 3.0))
        track.phrases.append((t, phrase_end))
        _say_phrase(track, t, phrase_end, rng, world)
        t = phrase_end + rng.uniform(0.3, 0.8) / world.speech_rate


def _say_phrase(track: PersonTrack, start: float, end: float, rng: np.random.Generator,
                world: World = DEMO) -> None:
    """Syllables at about 4.5 per second (times the world's speech rate), some stressed (louder,
    brows up, a head beat)."""
    s = start
    while s < end - 0.12:
        dur = min(rng.uniform(0.14, 0.28) / world.speech_rate, end - s)
        stressed = rng.random() < 0.18
        track.syllables.append(Syllable(s, dur, VOWELS[rng.integers(5)], stressed))
        if stressed:
            track.gestures.append(Gesture("brow", s, 0.5, 0.5 * rng.uniform(0.6, 1.0), "speech"))
            track.gestures.append(Gesture("beat", s, 0.4, rng.uniform(0.5, 1.0), "speech"))
        s += dur + rng.uniform(0.0, 0.06) / world.speech_rate


def _spontaneous(track: PersonTrack, duration: float, rng: np.random.Generator) -> None:
    """Smiles (more while speaking) and occasional frowns, independent of the other person."""
    t = rng.exponential(4.0)
    while t < duration:
        rate_boost = 1.0 if track.speaking(t) else 0.4
        if rng.random() < rate_boost:
            track.gestures.append(Gesture("smile", t, rng.uniform(1.2, 3.0), rng.uniform(0.4, 0.9)))
        t += rng.exponential(6.0)
    t = rng.exponential(12.0)
    while t < duration:
        track.gestures.append(Gesture("frown", t, rng.uniform(0.8, 2.0), rng.uniform(0.3, 0.7)))
        t += rng.exponential(15.0)


def _react(listener: PersonTrack, speaker: PersonTrack, duration: float, rng: np.random.Generator,
           world: World = DEMO) -> None:
    """The listener's reactions to what the speaker did, each after a persona- and world-scaled
    delay. A chance above 1 means always."""
    p = listener.persona
    speed = p.speed * world.reaction_delay

    def delay(lo: float, hi: float) -> float:
        return speed * rng.uniform(*spread(lo, hi, world.delay_spread))

    nod, hum, brow = p.nod * world.nod, p.backchannel * world.backchannel, p.brow * world.brow
    reactions: list[Gesture] = []
    for _, end in speaker.phrases:
        after = delay(0.15, 0.45)
        choice = rng.random()
        if choice < nod:
            reactions.append(Gesture("nod", end + after, rng.uniform(0.6, 1.2), rng.uniform(0.6, 1.0)))
            if rng.random() < hum:
                reactions.append(Gesture("mmhmm", end + after + 0.1, 0.45, rng.uniform(0.6, 1.0)))
        elif choice < nod + hum:
            reactions.append(Gesture("mmhmm", end + after, 0.45, rng.uniform(0.6, 1.0)))
        elif rng.random() < brow:
            reactions.append(Gesture("brow", end + after, 0.6, rng.uniform(0.4, 0.8)))
    for g in speaker.spontaneous("smile"):
        if rng.random() < p.mirror_smile * world.mirror:
            reactions.append(Gesture("smile", g.start + delay(0.6, 1.4),
                                     g.duration * rng.uniform(0.7, 1.3), g.amplitude * rng.uniform(0.6, 1.1)))
    for g in speaker.gestures:
        if g.kind == "brow" and rng.random() < 0.5 * brow:
            reactions.append(Gesture("brow", g.start + delay(0.3, 0.6), 0.5,
                                     g.amplitude * rng.uniform(0.5, 1.0)))
    for g in speaker.spontaneous("frown"):
        if rng.random() < 0.6 * world.concern:
            reactions.append(Gesture("concern", g.start + delay(0.4, 0.9),
                                     g.duration, rng.uniform(0.3, 0.7)))
    for g in reactions:
        g.source = "reaction"
    # One does not backchannel over one's own words.
    listener.gestures += [g for g in reactions if g.start < duration and not listener.speaking(g.start)]


def schedule_clip(personas: tuple[Persona, Persona], duration: float, rng: np.random.Generator,
                  world: World = DEMO) -> tuple[PersonTrack, PersonTrack]:
    tracks = (PersonTrack(personas[0]), PersonTrack(personas[1]))
    t = rng.uniform(0.0, 1.0)
    while t < duration - 1.0:
        end = min(duration, t + rng.uniform(4.0, 10.0) * world.turn_length)
        _speak_turn(tracks[0], t, end, rng, world)
        t = end + rng.uniform(0.4, 1.2)
        if rng.random() < 0.45 and t < duration - 1.5:
            end = min(duration, t + rng.uniform(1.0, 4.0) * world.turn_length)
            _speak_turn(tracks[1], t, end, rng, world)
            t = end + rng.uniform(0.4, 1.0)
    for track in tracks:
        _spontaneous(track, duration, rng)
    own = [list(t.gestures) for t in tracks]
    for me, other in ((0, 1), (1, 0)):
        spontaneous_other = PersonTrack(tracks[other].persona, tracks[other].phrases, [], own[other])
        _react(tracks[me], spontaneous_other, duration, rng, world)
    return tracks


def resample_listener(tracks: tuple[PersonTrack, PersonTrack], listener: int, duration: float,
                      rng: np.random.Generator, world: World = DEMO) -> PersonTrack:
    """The same conversation with the listener's own choices drawn again: when they talk stays
    (turn-taking follows the other's pauses), but their syllables, spontaneous behaviour and
    reactions to the other (whose track is unchanged) are new. What a perfect model of this world
    samples; used to measure the ceiling of the metrics."""
    own, other = tracks[listener], tracks[1 - listener]
    fresh = PersonTrack(own.persona, list(own.phrases))
    for a, b in own.phrases:
        _say_phrase(fresh, a, b, rng, world)
    _spontaneous(fresh, duration, rng)
    other_own = PersonTrack(other.persona, other.phrases, other.syllables,
                            [g for g in other.gestures if g.source != "reaction"])
    _react(fresh, other_own, duration, rng, world)
    return fresh
