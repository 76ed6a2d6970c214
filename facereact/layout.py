"""The one place that knows the feature layout: 3DMM channels, emotion columns, audio features.

Everything else imports dimensions, names and groups from here instead of writing 58, 52 or 25.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

FPS = 25
# Metrics score the first 750 frames; the release mixes 750- and 751-frame clips.
CLIP_FRAMES = 750

# FaceVerse expression basis in ARKit order (docs/data.md).
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight", "tongueOut",
)
POSE_NAMES: tuple[str, ...] = ("pitch", "yaw", "roll", "tx", "ty", "tz")
FACE_NAMES: tuple[str, ...] = BLENDSHAPE_NAMES + POSE_NAMES

N_BLENDSHAPES = len(BLENDSHAPE_NAMES)
FACE_DIM = len(FACE_NAMES)
ROTATION = slice(N_BLENDSHAPES, N_BLENDSHAPES + 3)
TRANSLATION = slice(N_BLENDSHAPES + 3, FACE_DIM)

# The 13 face regions of the tokenizer's grouped ("blendshape") loss.
FACE_GROUPS: dict[str, slice] = {
    "brow": slice(0, 5),
    "cheek": slice(5, 8),
    "eye_blink": slice(8, 10),
    "eye_look": slice(10, 18),
    "eye_squint": slice(18, 20),
    "eye_wide": slice(20, 22),
    "jaw": slice(22, 26),
    "mouth": slice(26, 43),
    "smile": slice(43, 45),
    "mouth_stretch_upper": slice(45, 49),
    "nose_tongue": slice(49, 52),
    "rotation": ROTATION,
    "translation": TRANSLATION,
}

# The regions whose motion the generator's speaker stream learns to predict (generator/motion.py):
# FACE_GROUPS with the head's rotation split by axis, since a nod (pitch) and a shake (yaw) are
# different reactions.
MOTION_GROUPS: dict[str, slice] = {
    **{name: s for name, s in FACE_GROUPS.items() if name != "rotation"},
    **{name: slice(ROTATION.start + i, ROTATION.start + i + 1) for i, name in enumerate(("pitch", "yaw", "roll"))},
}
MOTION_DIM = len(MOTION_GROUPS)

AU_NAMES: tuple[str, ...] = (
    "AU1", "AU2", "AU4", "AU6", "AU7", "AU9", "AU10", "AU12",
    "AU14", "AU15", "AU17", "AU23", "AU24", "AU25", "AU26",
)
AFFECT_NAMES: tuple[str, ...] = ("valence", "arousal")
EXPRESSION_NAMES: tuple[str, ...] = (
    "Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt",
)
EMOTION_NAMES: tuple[str, ...] = AU_NAMES + AFFECT_NAMES + EXPRESSION_NAMES
EMOTION_DIM = len(EMOTION_NAMES)

# Column groups the metrics use (FRDist weights them 1/15, 1, 1/8).
AU = slice(0, len(AU_NAMES))
AFFECT = slice(AU.stop, AU.stop + len(AFFECT_NAMES))
EXPRESSION = slice(AFFECT.stop, EMOTION_DIM)
EMOTION_GROUPS: dict[str, slice] = {"au": AU, "affect": AFFECT, "expression": EXPRESSION}


@dataclass(frozen=True)
class AudioLayout:
    """The official baseline's per-frame audio feature: Kaldi MFCC (+ deltas) on 2 sub-frames."""

    n_ceps: int = 13
    n_orders: int = 3  # static, delta, delta-delta
    n_subframes: int = 2

    @property
    def dim(self) -> int:
        return self.n_ceps * self.n_orders * self.n_subframes


MFCC = AudioLayout()
AUDIO_DIM = MFCC.dim

# REACT 2025/2026 (MARS): 30 fps video, wav2vec2-base features shipped per frame, and for 2026 the
# Big Five per person (1..5 in the files) and listener EEG (docs/data.md).
MARS_FPS = 30
WAV2VEC_DIM = 768
AUDIO_FEATURES: dict[str, int] = {"mfcc": AUDIO_DIM, "wav2vec2": WAV2VEC_DIM}  # name -> per-frame width
PERSONALITY_NAMES: tuple[str, ...] = ("Extraversion", "Agreeableness", "Conscientiousness", "Neuroticism", "Openness")
EEG_NAMES: tuple[str, ...] = (
    "TP9", "AF7", "AF8", "TP10",
    *(f"{band}_{site}" for site in ("TP9", "TP10") for band in ("Delta", "Theta", "Alpha", "Beta", "Gamma")))


def face_index(name: str) -> int:
    """Channel index of a blendshape or pose name, e.g. face_index("jawOpen")."""
    return FACE_NAMES.index(name)


def emotion_index(name: str) -> int:
    return EMOTION_NAMES.index(name)


assert N_BLENDSHAPES == 52 and FACE_DIM == 58 and EMOTION_DIM == 25 and AUDIO_DIM == 78
assert sum(s.stop - s.start for s in FACE_GROUPS.values()) == FACE_DIM


# -- face frames as face trackers give them ------------------------------------------------------
# Trackers such as MediaPipe's face landmarker name the 52 blendshapes as ARKit does (the names
# above) and give the head pose apart; MediaPipe adds a "_neutral" score, which carries nothing here.
ROTATION_NAMES: tuple[str, ...] = POSE_NAMES[:3]
TRANSLATION_NAMES: tuple[str, ...] = POSE_NAMES[3:]
IGNORED_TRACKER_NAMES = frozenset({"_neutral"})


def face_from_tracker(scores: Mapping[str, float], translation: Sequence[float] | None = None) -> np.ndarray:
    """A tracker's frame -> the (FACE_DIM,) face vector: all 52 ARKit blendshape names with scores
    in [0, 1], the head rotation as pitch, yaw, roll (radians), and translation as tx, ty, tz when
    the tracker gives it (else `translation`, e.g. a model's resting head). Unknown names, missing
    names and values out of range are a ValueError naming them."""
    import math

    import numpy as np

    unknown = sorted(set(scores) - set(FACE_NAMES) - IGNORED_TRACKER_NAMES)
    if unknown:
        raise ValueError(f"unknown face names {unknown[:5]}: expected ARKit blendshape names and "
                         f"{', '.join(POSE_NAMES)}")
    has_translation = [n in scores for n in TRANSLATION_NAMES]
    if any(has_translation) and not all(has_translation):
        raise ValueError(f"translation needs all of {TRANSLATION_NAMES}, got only some")
    required = BLENDSHAPE_NAMES + ROTATION_NAMES + (() if all(has_translation) or translation is not None
                                                    else TRANSLATION_NAMES)
    missing = [n for n in required if n not in scores]
    if missing:
        raise ValueError(f"missing face names {missing[:5]}{' ...' if len(missing) > 5 else ''} "
                         f"({len(missing)} of {len(required)})")
    face = np.empty(FACE_DIM, np.float32)
    for i, name in enumerate(FACE_NAMES):
        value = float(scores[name]) if name in scores else float(translation[i - TRANSLATION.start])
        if not math.isfinite(value):
            raise ValueError(f"face value {name} = {value} is not finite")
        if i < N_BLENDSHAPES and not 0.0 <= value <= 1.0:
            raise ValueError(f"blendshape {name} = {value:g} is outside [0, 1]")
        if ROTATION.start <= i < ROTATION.stop and abs(value) > math.pi:
            raise ValueError(f"head rotation {name} = {value:g} is not in radians (|value| <= pi)")
        face[i] = value
    return face


def face_to_tracker(face: Sequence[float]) -> dict[str, float]:
    """The (FACE_DIM,) face vector as tracker-style named values (the inverse of face_from_tracker)."""
    return {name: float(value) for name, value in zip(FACE_NAMES, face)}
