"""A listenable synthetic voice: pitched, voiced syllables with vowel formants, an energy envelope,
stressed syllables louder and higher, pauses between phrases, and hummed "mm-hmm" backchannels."""
from __future__ import annotations

import numpy as np

from facereact.synth.conversation import PersonTrack

# (F1, F2) in Hz of the five vowels.
FORMANTS = {"a": (730, 1090), "e": (530, 1840), "i": (270, 2290), "o": (570, 840), "u": (300, 870)}
HUM_FORMANTS = (250, 1000)
N_HARMONICS = 14


def _voiced(n: int, rate: int, f0: np.ndarray, amp: np.ndarray, f1: float, f2: float) -> np.ndarray:
    """Additive synthesis of one voiced stretch: harmonics weighted by two formant resonances."""
    phase = 2 * np.pi * np.cumsum(f0) / rate
    out = np.zeros(n)
    for h in range(1, N_HARMONICS + 1):
        freq = h * f0
        if freq.max() > 0.45 * rate:
            break
        weight = (np.exp(-0.5 * ((freq - f1) / 120.0) ** 2) + 0.6 * np.exp(-0.5 * ((freq - f2) / 180.0) ** 2)
                  + 0.15 / h)
        out += weight * np.sin(h * phase)
    return out * amp


def render_voice(track: PersonTrack, n_samples: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    audio = rng.normal(0.0, 0.002, n_samples)  # room noise, so silence is not digital zero
    base = track.persona.pitch_hz
    items = [(s.start, s.duration, FORMANTS[s.vowel], 1.6 if s.stressed else 1.0) for s in track.syllables]
    items += [(g.start, g.duration, HUM_FORMANTS, 0.5) for g in track.gestures if g.kind == "mmhmm"]
    for start, duration, (f1, f2), loud in items:
        a = int(start * rate)
        b = min(n_samples, int((start + duration) * rate))
        if b - a < 16:
            continue
        x = np.linspace(0.0, 1.0, b - a)
        env = np.sin(np.pi * x) ** 1.5 * loud
        f0 = base * (1.0 + (0.2 if loud > 1.2 else 0.05) * np.sin(np.pi * x) + rng.normal(0, 0.01))
        voiced = _voiced(b - a, rate, f0, env, f1, f2)
        onset = min(b - a, int(0.03 * rate))  # a consonant burst before the vowel
        voiced[:onset] += rng.normal(0.0, 0.15, onset) * np.linspace(1, 0, onset)
        audio[a:b] += 0.08 * voiced
    return np.clip(audio, -1.0, 1.0)
