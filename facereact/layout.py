"""The one place that knows the feature layout: 3DMM channels, emotion columns, audio features.

Everything else imports dimensions, names and groups from here instead of writing 58, 52 or 25.
"""
from __future__ import annotations

from dataclasses import dataclass

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


def face_index(name: str) -> int:
    """Channel index of a blendshape or pose name, e.g. face_index("jawOpen")."""
    return FACE_NAMES.index(name)


def emotion_index(name: str) -> int:
    return EMOTION_NAMES.index(name)


assert N_BLENDSHAPES == 52 and FACE_DIM == 58 and EMOTION_DIM == 25 and AUDIO_DIM == 78
assert sum(s.stop - s.start for s in FACE_GROUPS.values()) == FACE_DIM
