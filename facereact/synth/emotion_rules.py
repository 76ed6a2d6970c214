"""Fixed rules that turn a face sequence into the 25 emotion columns (AUs, valence/arousal,
expression probabilities), so that an emotion decoder has something exact to learn."""
from __future__ import annotations

import numpy as np

from facereact.layout import AU_NAMES, EMOTION_DIM, EXPRESSION, FPS, N_BLENDSHAPES, ROTATION, emotion_index, face_index

# Action unit -> (blendshapes averaged, occurrence threshold).
AU_RULES: dict[str, tuple[tuple[str, ...], float]] = {
    "AU1": (("browInnerUp",), 0.3),
    "AU2": (("browOuterUpLeft", "browOuterUpRight"), 0.3),
    "AU4": (("browDownLeft", "browDownRight"), 0.3),
    "AU6": (("cheekSquintLeft", "cheekSquintRight"), 0.25),
    "AU7": (("eyeSquintLeft", "eyeSquintRight"), 0.25),
    "AU9": (("noseSneerLeft", "noseSneerRight"), 0.1),
    "AU10": (("mouthUpperUpLeft", "mouthUpperUpRight"), 0.2),
    "AU12": (("mouthSmileLeft", "mouthSmileRight"), 0.35),
    "AU14": (("mouthDimpleLeft", "mouthDimpleRight"), 0.12),
    "AU15": (("mouthFrownLeft", "mouthFrownRight"), 0.2),
    "AU17": (("mouthShrugLower",), 0.15),
    "AU23": (("mouthPressLeft", "mouthPressRight"), 0.15),
    "AU24": (("mouthRollLower",), 0.12),
    "AU25": (("mouthLowerDownLeft", "mouthLowerDownRight"), 0.1),
    "AU26": (("jawOpen",), 0.25),
}
assert tuple(AU_RULES) == AU_NAMES


def _mean(face: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return face[:, [face_index(n) for n in names]].mean(axis=1)


def emotion_from_face(face: np.ndarray, fps: int = FPS) -> np.ndarray:
    """(T, 58) -> (T, 25) float32 by the rules above; arousal looks only at the past half second."""
    n = face.shape[0]
    out = np.zeros((n, EMOTION_DIM))
    for k, (names, threshold) in enumerate(AU_RULES.values()):
        out[:, k] = _mean(face, names) > threshold
    smile = _mean(face, ("mouthSmileLeft", "mouthSmileRight"))
    frown = _mean(face, ("mouthFrownLeft", "mouthFrownRight"))
    brow_down = _mean(face, ("browDownLeft", "browDownRight"))
    out[:, emotion_index("valence")] = np.tanh(2.5 * (smile - 0.6 * frown - 0.4 * brow_down))
    velocity = np.zeros(n)
    velocity[1:] = (np.abs(np.diff(face[:, :N_BLENDSHAPES], axis=0)).sum(1)
                    + 20 * np.abs(np.diff(face[:, ROTATION], axis=0)).sum(1))
    window = fps // 2
    energy = np.convolve(velocity, np.ones(window) / window)[:n]  # causal moving average
    out[:, emotion_index("arousal")] = np.tanh(3.0 * energy - 1.0)
    logits = np.stack([
        np.full(n, 0.8),  # Neutral
        5 * smile,  # Happy
        3 * frown + 2 * _mean(face, ("browInnerUp",)) * (smile < 0.2),  # Sad
        2 * _mean(face, ("eyeWideLeft", "eyeWideRight")) + 1.5 * _mean(face, ("browOuterUpLeft",)),  # Surprise
        2 * _mean(face, ("mouthStretchLeft", "mouthStretchRight")) * _mean(face, ("browInnerUp",)),  # Fear
        4 * _mean(face, ("noseSneerLeft", "noseSneerRight")),  # Disgust
        3 * brow_down + _mean(face, ("mouthPressLeft", "mouthPressRight")),  # Anger
        4 * np.abs(face[:, face_index("mouthSmileLeft")] - face[:, face_index("mouthSmileRight")]),  # Contempt
    ], axis=1)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    out[:, EXPRESSION] = probs / probs.sum(1, keepdims=True)
    return out.astype(np.float32)
