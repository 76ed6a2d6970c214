"""A recording as another room and microphone would have made it: reverberation, band limits, gain
and noise, drawn at random within ranges an amount scales. Used to write synthetic corpora through
rooms (synth/recording.py) and to copy a real corpus's training speech through them
(data/augment.py), so that a model does not learn one studio's microphone.
"""
from __future__ import annotations

import numpy as np


def through_room(audio: np.ndarray, rate: int, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Audio through a random room and microphone, `amount` in [0, 1] scaling every range: a
    reverberant tail (reverberation time up to 0.8 s, wet share up to 0.6), band limits (a high
    pass up to 300 Hz, a low pass down to 3.4 kHz: a small microphone, a phone line), a gain of
    -12 to +6 dB and noise down to 15 dB below the speech. Unchanged (no draws) at 0."""
    if amount <= 0.0:
        return audio
    n = len(audio)
    rt60 = max(0.05, amount * rng.uniform(0.15, 0.8))
    tail = np.arange(int(rt60 * rate)) / rate
    rir = rng.normal(0.0, 1.0, len(tail)) * np.exp(-6.9 * tail / rt60)  # -60 dB at rt60
    rir /= np.sqrt((rir ** 2).sum())
    size = 1 << int(np.ceil(np.log2(n + len(rir))))
    reverb = np.fft.irfft(np.fft.rfft(audio, size) * np.fft.rfft(rir, size), size)[:n]
    x = audio + amount * rng.uniform(0.2, 0.6) * reverb
    nyquist = rate / 2
    low = rng.uniform(50.0, 50.0 + 250.0 * amount)
    high = nyquist - amount * rng.uniform(0.0, max(0.0, nyquist - 3400.0))
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    band = 1.0 / (1.0 + (low / np.maximum(freqs, 1e-3)) ** 4) / (1.0 + (freqs / high) ** 8)  # smooth edges
    x = np.fft.irfft(np.fft.rfft(x) * band, n)
    x *= 10.0 ** (amount * rng.uniform(-12.0, 6.0) / 20.0)
    frames = x[:n // 320 * 320].reshape(-1, 320) if n >= 320 else x[None]
    speech = np.percentile(np.sqrt((frames ** 2).mean(1)), 90)  # the speech's level, not the pauses'
    snr_db = 50.0 - amount * rng.uniform(0.0, 35.0)
    return np.clip(x + rng.normal(0.0, speech * 10.0 ** (-snr_db / 20.0), n), -1.0, 1.0)
