"""Render one person's event track into a (T, 58) 3DMM sequence (25 fps unless told)."""
from __future__ import annotations

import numpy as np

from facereact.layout import FACE_DIM, FPS, N_BLENDSHAPES, face_index
from facereact.synth.conversation import PersonTrack

I = face_index  # short alias: channel index by ARKit / pose name


def _envelope(t: np.ndarray, start: float, duration: float, attack: float, release: float) -> np.ndarray:
    """Smooth 0 -> 1 -> 0 bump: raised-cosine attack, hold, raised-cosine release."""
    rise = np.clip((t - start) / attack, 0.0, 1.0)
    fall = np.clip((start + duration + release - t) / release, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(rise, fall))


def _ou(n: int, rng: np.random.Generator, tau_s: float, sigma: float, fps: int) -> np.ndarray:
    """Ornstein-Uhlenbeck drift (slow wandering around 0)."""
    a = np.exp(-1.0 / (tau_s * fps))
    noise = rng.normal(0.0, sigma * np.sqrt(1 - a * a), n)
    out = np.empty(n)
    x = rng.normal(0.0, sigma)
    for i in range(n):
        x = a * x + noise[i]
        out[i] = x
    return out


def _add(face: np.ndarray, names: tuple[str, ...], curve: np.ndarray, weight: float = 1.0) -> None:
    for name in names:
        face[:, I(name)] += weight * curve


def _speech(face: np.ndarray, t: np.ndarray, track: PersonTrack) -> None:
    for s in track.syllables:
        env = _envelope(t, s.start, s.duration * 0.5, s.duration * 0.25, s.duration * 0.35)
        loud = 1.3 if s.stressed else 1.0
        _add(face, ("jawOpen",), env, 0.45 * loud)
        _add(face, ("mouthLowerDownLeft", "mouthLowerDownRight"), env, 0.3 * loud)
        if s.vowel in "ou":
            _add(face, ("mouthFunnel",), env, 0.35)
        if s.vowel == "u":
            _add(face, ("mouthPucker",), env, 0.4)
        if s.vowel in "ie":
            _add(face, ("mouthStretchLeft", "mouthStretchRight"), env, 0.3)
    for _, b in track.phrases:  # lips press shut briefly at the end of each phrase
        _add(face, ("mouthClose", "mouthPressLeft", "mouthPressRight"), _envelope(t, b, 0.1, 0.08, 0.2), 0.25)


def _gesture(face: np.ndarray, t: np.ndarray, kind: str, start: float, duration: float, amp: float,
             rng: np.random.Generator) -> None:
    if kind == "brow":
        env = _envelope(t, start, duration * 0.4, 0.12, 0.35) * amp
        _add(face, ("browInnerUp",), env)
        _add(face, ("browOuterUpLeft", "browOuterUpRight"), env, 0.8)
        _add(face, ("eyeWideLeft", "eyeWideRight"), env, 0.3)
    elif kind == "beat":  # small head dip with a stressed syllable
        face[:, I("pitch")] += 0.03 * amp * _envelope(t, start, 0.05, 0.12, 0.2)
    elif kind == "nod":
        dt = t - start
        cycles = np.where((dt >= 0) & (dt < duration), np.sin(2 * np.pi * 2.0 * dt) * np.exp(-dt / 0.45), 0.0)
        face[:, I("pitch")] += 0.12 * amp * cycles
    elif kind == "smile":
        env = _envelope(t, start, duration, 0.4, 0.8) * amp
        asym = rng.uniform(-0.15, 0.15)
        face[:, I("mouthSmileLeft")] += env * (1 + asym)
        face[:, I("mouthSmileRight")] += env * (1 - asym)
        _add(face, ("cheekSquintLeft", "cheekSquintRight"), env, 0.5)
        _add(face, ("eyeSquintLeft", "eyeSquintRight"), env, 0.35)
        _add(face, ("mouthDimpleLeft", "mouthDimpleRight"), env, 0.2)
        if amp > 0.7:  # a laugh opens the jaw
            _add(face, ("jawOpen",), env, 0.2)
    elif kind == "frown":
        env = _envelope(t, start, duration, 0.3, 0.5) * amp
        _add(face, ("browDownLeft", "browDownRight"), env)
        _add(face, ("mouthFrownLeft", "mouthFrownRight"), env, 0.5)
        _add(face, ("noseSneerLeft", "noseSneerRight"), env, 0.2)
    elif kind == "concern":
        env = _envelope(t, start, duration, 0.3, 0.5) * amp
        _add(face, ("browInnerUp",), env)
        _add(face, ("mouthFrownLeft", "mouthFrownRight"), env, 0.4)
        _add(face, ("mouthShrugLower",), env, 0.4)
    elif kind == "mmhmm":  # closed-mouth hum with a slight press
        env = _envelope(t, start, duration, 0.08, 0.15) * amp
        _add(face, ("mouthClose",), env, 0.4)
        _add(face, ("mouthPressLeft", "mouthPressRight", "mouthRollLower"), env, 0.3)
    else:
        raise ValueError(f"unknown gesture kind '{kind}'")


def _blinks(face: np.ndarray, t: np.ndarray, rate: float, rng: np.random.Generator) -> None:
    s = rng.exponential(1.0 / rate)
    while s < t[-1]:
        env = np.clip(1.0 - np.abs(t - s - 0.06) / 0.1, 0.0, 1.0)
        _add(face, ("eyeBlinkLeft", "eyeBlinkRight"), env)
        s += 0.3 + rng.exponential(1.0 / rate)


def _gaze_and_head(face: np.ndarray, track: PersonTrack, rng: np.random.Generator, fps: int) -> None:
    n = face.shape[0]
    p = track.persona
    gx = np.zeros(n)
    gy = np.zeros(n)
    i = int(rng.exponential(3.0) * fps)
    while i < n:  # brief glances away, back to the partner
        length = int(rng.uniform(0.4, 1.5) * fps)
        gx[i:i + length] = rng.uniform(-0.6, 0.6)
        gy[i:i + length] = rng.uniform(-0.4, 0.3)
        i += length + int(rng.exponential(4.0) * fps)
    kernel = np.ones(3) / 3
    gx, gy = np.convolve(gx, kernel, "same"), np.convolve(gy, kernel, "same")
    right, left, up, down = (np.clip(v, 0, None) for v in (gx, -gx, gy, -gy))
    # Looking right: the left eye looks in, the right eye looks out.
    face[:, I("eyeLookInLeft")] += right
    face[:, I("eyeLookOutRight")] += right
    face[:, I("eyeLookOutLeft")] += left
    face[:, I("eyeLookInRight")] += left
    _add(face, ("eyeLookUpLeft", "eyeLookUpRight"), up)
    _add(face, ("eyeLookDownLeft", "eyeLookDownRight"), down)
    m = p.head_motion
    face[:, I("yaw")] += 0.15 * gx + _ou(n, rng, 3.0, 0.04 * m, fps)
    face[:, I("pitch")] += _ou(n, rng, 2.0, 0.025 * m, fps) - 0.05 * gy
    face[:, I("roll")] += _ou(n, rng, 4.0, 0.02 * m, fps)
    face[:, I("tx")] += _ou(n, rng, 5.0, 0.02 * m, fps)
    face[:, I("ty")] += _ou(n, rng, 5.0, 0.015 * m, fps)
    face[:, I("tz")] += _ou(n, rng, 8.0, 0.03 * m, fps)


def render_face(track: PersonTrack, n_frames: int, rng: np.random.Generator, fps: int = FPS) -> np.ndarray:
    t = np.arange(n_frames) / fps
    face = np.zeros((n_frames, FACE_DIM))
    p = track.persona
    _add(face, ("mouthSmileLeft", "mouthSmileRight"), np.ones(n_frames), p.rest_smile)
    _add(face, ("browInnerUp",), np.ones(n_frames), p.rest_brow)
    _speech(face, t, track)
    for g in track.gestures:
        _gesture(face, t, g.kind, g.start, g.duration, g.amplitude * p.expressiveness, rng)
    _blinks(face, t, p.blink_rate, rng)
    _gaze_and_head(face, track, rng, fps)
    face[:, :N_BLENDSHAPES] += rng.normal(0.0, 0.01, (n_frames, N_BLENDSHAPES))
    face[:, :N_BLENDSHAPES] = np.clip(face[:, :N_BLENDSHAPES], 0.0, 1.0)
    return face.astype(np.float32)
