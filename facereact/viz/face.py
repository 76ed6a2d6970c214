"""A 2D cartoon face driven by the 58 3DMM channels (52 ARKit blendshapes + head pose).

The challenge's renderer needs licensed 3DMM assets; this one needs only Pillow. Every feature is
placed in face units (head half-height 1, x to the image's right, y down; the person's left is the
image's right, as in a mirror-free photo) on an ellipsoid head, so pitch and yaw move the features
over the head in perspective-free 3D: a nod slides eyes, nose and mouth down and up, a turn slides
them sideways and hides an ear. Drawn at 2x and box-reduced for smooth edges.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from facereact.errors import UsageError
from facereact.layout import FACE_DIM, FACE_NAMES, ROTATION, TRANSLATION

_INDEX = {name: i for i, name in enumerate(FACE_NAMES)}
# Head ellipsoid semi-axes (x, y, z) in face units.
_AXES = np.array([0.78, 1.0, 0.9])
_XS = np.linspace(-1.0, 1.0, 13)


@dataclass(frozen=True)
class FaceStyle:
    size: int = 160                 # output pixels, square
    supersample: int = 2            # drawn this many times larger, then box-reduced
    pose_gain: float = 1.0          # rotation channels are radians; >1 exaggerates head motion
    translation_gain: float = 4.0   # translation units -> face units
    background: tuple[int, int, int] = (246, 246, 242)
    skin: tuple[int, int, int] = (240, 203, 172)
    shade: tuple[int, int, int] = (214, 170, 140)
    hair: tuple[int, int, int] = (72, 52, 42)
    brow: tuple[int, int, int] = (70, 48, 36)
    line: tuple[int, int, int] = (60, 40, 35)
    lips: tuple[int, int, int] = (196, 92, 92)
    mouth: tuple[int, int, int] = (70, 22, 30)
    teeth: tuple[int, int, int] = (250, 250, 245)
    iris: tuple[int, int, int] = (62, 108, 158)
    blush: tuple[int, int, int] = (236, 130, 130)


class _Frame:
    """Clipped blendshape values of one frame, looked up by ARKit name."""

    def __init__(self, frame: np.ndarray) -> None:
        self.values = np.clip(frame, 0.0, 1.0)

    def __getitem__(self, name: str) -> float:
        return float(self.values[_INDEX[name]])

    def side(self, name: str, s: int) -> float:
        """`name` for the person's left (s=+1, image right) or right (s=-1)."""
        return self[name + ("Left" if s > 0 else "Right")]


class _Projector:
    """Face units -> supersampled pixels under the frame's head pose."""

    def __init__(self, frame: np.ndarray, style: FaceStyle) -> None:
        pitch, yaw, roll = (frame[ROTATION] * style.pose_gain).tolist()
        tx, ty, tz = (frame[TRANSLATION] * style.translation_gain).tolist()
        px = style.size * style.supersample
        self.scale = 0.40 * px * (1.0 + 0.5 * tz)
        self.center = np.array([px / 2 + tx * self.scale, px / 2 + ty * self.scale])
        cp, sp, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
        cr, sr = np.cos(roll), np.sin(roll)
        # pitch about x (positive: the face tips down), then yaw about y (positive: turns to image right).
        self.turn = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]]) @ np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
        self.roll = np.array([[cr, -sr], [sr, cr]])

    def surface(self, points: np.ndarray, lift: float = 0.0) -> np.ndarray:
        """Points on the head's front surface (z from the ellipsoid), plus `lift` out of it."""
        q = points / _AXES[:2]
        z = _AXES[2] * np.sqrt(np.clip(1.0 - (q * q).sum(axis=1), 0.05, None)) + lift
        xyz = np.column_stack([points, z]) @ self.turn.T
        return self.plane(xyz[:, :2])

    def plane(self, points: np.ndarray) -> np.ndarray:
        """Points that only roll and translate with the head (its silhouette)."""
        return (points @ self.roll.T) * self.scale + self.center


def _flat(points: np.ndarray) -> list[float]:
    return points.ravel().tolist()


def _curve(left: tuple[float, float], right: tuple[float, float], middle: float, power: float = 1.0) -> np.ndarray:
    """A curve from `left` to `right` whose middle reaches y = `middle`; power < 1 rounds it."""
    (x0, y0), (x1, y1) = left, right
    t = (_XS + 1.0) / 2.0
    chord = y0 + (y1 - y0) * t
    bulge = (1.0 - _XS ** 2) ** power
    return np.column_stack([x0 + (x1 - x0) * t, chord + (middle - (y0 + y1) / 2.0) * bulge])


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], w: float) -> tuple[int, int, int]:
    w = min(max(w, 0.0), 1.0)
    return tuple(round(x + (y - x) * w) for x, y in zip(a, b))


def _ellipse(center: tuple[float, float], rx: float, ry: float, n: int = 20) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([center[0] + rx * np.cos(t), center[1] + ry * np.sin(t)])


def _head(draw: ImageDraw.ImageDraw, f: _Frame, pj: _Projector, st: FaceStyle) -> None:
    jaw, puff = f["jawOpen"], f["cheekPuff"]
    chin_x = 0.06 * (f["jawLeft"] - f["jawRight"])
    for s in (-1, 1):  # ears first, so the head hides the far one on a turn
        ear = _ellipse((s * 0.76, -0.05), 0.09, 0.17)
        draw.polygon(_flat(pj.surface(ear, lift=-0.55)), fill=st.shade)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    lower = np.sin(t) > 0
    x = _AXES[0] * np.cos(t) * np.where(lower, 1.0 + 0.10 * puff, 1.0) + np.where(lower, chin_x * np.sin(t) ** 4, 0)
    y = np.sin(t) * np.where(lower, 1.0 + 0.13 * jaw + 0.03 * f["jawForward"], 1.0)
    draw.polygon(_flat(pj.plane(np.column_stack([x, y]))), fill=st.skin)
    # hair: the silhouette's top arc, closed by a hairline on the surface (a nod shows more hair)
    arc_t = np.linspace(np.pi * 1.08, np.pi * 1.92, 17)
    arc = pj.plane(np.column_stack([_AXES[0] * 1.01 * np.cos(arc_t), 1.01 * np.sin(arc_t)]))
    hairline = pj.surface(_curve((0.74, -0.45), (-0.74, -0.45), -0.72, 0.6))
    draw.polygon(_flat(np.vstack([arc, hairline])), fill=st.hair)


def _cheeks(draw: ImageDraw.ImageDraw, f: _Frame, pj: _Projector, st: FaceStyle) -> None:
    for s in (-1, 1):
        lift = f.side("cheekSquint", s) + 0.5 * f.side("mouthSmile", s) + 0.6 * f["cheekPuff"]
        if lift < 0.08:
            continue
        r = 0.08 + 0.05 * lift
        blob = _ellipse((s * 0.42, 0.16 - 0.05 * f.side("cheekSquint", s)), r, r * 0.7)
        draw.polygon(_flat(pj.surface(blob)), fill=_mix(st.skin, st.blush, 0.25 + 0.5 * lift))


def _brows(draw: ImageDraw.ImageDraw, f: _Frame, pj: _Projector, st: FaceStyle, width: float) -> None:
    up = f["browInnerUp"]
    for s in (-1, 1):
        down, outer = f.side("browDown", s), f.side("browOuterUp", s)
        brow = np.array([
            [s * (0.11 - 0.03 * down), -0.40 - 0.13 * up + 0.09 * down],
            [s * 0.27, -0.47 - 0.06 * up - 0.09 * outer + 0.05 * down],
            [s * 0.43, -0.42 - 0.13 * outer + 0.02 * down],
        ])
        draw.line(_flat(pj.surface(brow, lift=0.02)), fill=st.brow, width=int(width * 0.05), joint="curve")


def _eyes(draw: ImageDraw.ImageDraw, f: _Frame, pj: _Projector, st: FaceStyle, width: float) -> None:
    for s in (-1, 1):
        cx, cy, half = s * 0.27, -0.22, 0.115
        blink, wide = f.side("eyeBlink", s), f.side("eyeWide", s)
        squint = max(f.side("eyeSquint", s), 0.7 * f.side("cheekSquint", s))
        below = 0.045 * (1.0 - 0.6 * squint)
        above = 0.075 * (1.0 + 0.9 * wide - 0.35 * squint)
        upper_mid = cy - (above * (1.0 - blink) - below * blink)
        upper = _curve((cx - half, cy), (cx + half, cy), upper_mid)
        lower = _curve((cx - half, cy), (cx + half, cy), cy + below)
        draw.polygon(_flat(pj.surface(np.vstack([upper, lower[::-1]]))), fill=(252, 252, 250))
        gaze_x = s * (f.side("eyeLookOut", s) - f.side("eyeLookIn", s))
        gaze_y = f.side("eyeLookDown", s) - f.side("eyeLookUp", s)
        iris = (cx + 0.06 * gaze_x, cy + 0.045 * gaze_y - 0.005)
        draw.polygon(_flat(pj.surface(_ellipse(iris, 0.048, 0.048))), fill=st.iris)
        draw.polygon(_flat(pj.surface(_ellipse(iris, 0.021, 0.021, 12))), fill=(20, 20, 24))
        # skin above the upper lid and below the lower lid hides what the lids cover
        top = np.array([[cx + half + 0.03, cy - 0.14], [cx - half - 0.03, cy - 0.14]])
        bottom = np.array([[cx + half + 0.03, cy + 0.11], [cx - half - 0.03, cy + 0.11]])
        lid = _mix(st.skin, st.shade, 0.3)
        draw.polygon(_flat(pj.surface(np.vstack([upper, top]))), fill=lid)
        draw.polygon(_flat(pj.surface(np.vstack([lower, bottom]))), fill=st.skin)
        draw.line(_flat(pj.surface(upper)), fill=st.line, width=int(width * 0.022), joint="curve")
        draw.line(_flat(pj.surface(lower)), fill=_mix(st.skin, st.line, 0.45), width=int(width * 0.01))


def _nose(draw: ImageDraw.ImageDraw, f: _Frame, pj: _Projector, st: FaceStyle, width: float) -> None:
    left, right = f["noseSneerLeft"], f["noseSneerRight"]
    nose = np.array([[-0.085, 0.17 - 0.05 * right], [-0.04, 0.22], [0.0, 0.235], [0.04, 0.22],
                     [0.085, 0.17 - 0.05 * left]])
    draw.line(_flat(pj.surface(nose, lift=0.06)), fill=_mix(st.skin, st.line, 0.6), width=int(width * 0.016),
              joint="curve")
    draw.line(_flat(pj.surface(np.array([[0.03, -0.12], [0.045, 0.1]]), lift=0.04)),
              fill=_mix(st.skin, st.line, 0.25), width=int(width * 0.012))
    for s, sneer in ((-1, right), (1, left)):
        if sneer > 0.1:  # wrinkles beside the bridge
            for k in range(2):
                wr = np.array([[s * 0.05, -0.06 + 0.035 * k], [s * 0.11, -0.03 + 0.035 * k]])
                draw.line(_flat(pj.surface(wr)), fill=_mix(st.skin, st.line, 0.7 * sneer), width=int(width * 0.01))


def _mouth(draw: ImageDraw.ImageDraw, f: _Frame, pj: _Projector, st: FaceStyle, width: float) -> None:
    y0 = 0.55
    pucker, funnel, press = f["mouthPucker"], f["mouthFunnel"], 0.5 * (f["mouthPressLeft"] + f["mouthPressRight"])
    shift = 0.06 * (f["mouthLeft"] - f["mouthRight"]) + 0.06 * (f["jawLeft"] - f["jawRight"])
    corners = {}
    for s in (-1, 1):
        smile, frown = f.side("mouthSmile", s), f.side("mouthFrown", s)
        x = (0.20 + 0.07 * smile + 0.09 * f.side("mouthStretch", s) + 0.03 * f.side("mouthDimple", s)
             - 0.10 * pucker - 0.07 * funnel)
        y = y0 - 0.085 * smile + 0.075 * frown + 0.02 * f.side("mouthStretch", s)
        corners[s] = (shift + s * x, y)
    upper_up = 0.5 * (f["mouthUpperUpLeft"] + f["mouthUpperUpRight"])
    lower_down = 0.5 * (f["mouthLowerDownLeft"] + f["mouthLowerDownRight"])
    opening = max(0.0, 0.22 * f["jawOpen"] * (1.0 - f["mouthClose"]) + 0.05 * lower_down + 0.04 * upper_up
                  + 0.08 * funnel - 0.03 * press)
    round_power = 1.0 - 0.5 * max(pucker, funnel)
    upper_in = y0 - 0.25 * opening - 0.035 * upper_up
    lower_in = y0 + 0.75 * opening + 0.02 * lower_down
    upper_out = upper_in - (0.038 * (1 - 0.7 * f["mouthRollUpper"] - 0.5 * press) + 0.015 * pucker
                            + 0.02 * f["mouthShrugUpper"])
    lower_out = lower_in + (0.05 * (1 - 0.7 * f["mouthRollLower"] - 0.5 * press) + 0.02 * pucker
                            + 0.025 * f["mouthShrugLower"])
    left, right = corners[-1], corners[1]
    outer_top = _curve(left, right, upper_out - 0.01 * (1 - pucker), round_power)
    outer_bottom = _curve(left, right, lower_out, round_power)
    draw.polygon(_flat(pj.surface(np.vstack([outer_top, outer_bottom[::-1]]), lift=0.03)), fill=st.lips)
    inner_top = _curve(left, right, upper_in, round_power)
    inner_bottom = _curve(left, right, lower_in, round_power)
    if opening > 0.008:
        draw.polygon(_flat(pj.surface(np.vstack([inner_top, inner_bottom[::-1]]), lift=0.03)), fill=st.mouth)
        teeth_edge = inner_top.copy()
        teeth_edge[:, 1] = np.minimum(inner_top[:, 1] + 0.035, inner_bottom[:, 1])
        draw.polygon(_flat(pj.surface(np.vstack([inner_top, teeth_edge[::-1]]), lift=0.03)), fill=st.teeth)
        if f["tongueOut"] > 0.05:
            tongue = _ellipse((shift, lower_in - 0.01), 0.07, 0.03 + 0.06 * f["tongueOut"])
            draw.polygon(_flat(pj.surface(tongue, lift=0.04)), fill=(214, 90, 100))
    else:
        seam = (inner_top + inner_bottom) / 2.0
        draw.line(_flat(pj.surface(seam, lift=0.03)), fill=_mix(st.lips, st.mouth, 0.6),
                  width=int(width * 0.014), joint="curve")
    for s in (-1, 1):
        dimple = f.side("mouthDimple", s)
        if dimple > 0.1:
            cx, cy = corners[s]
            mark = np.array([[cx + s * 0.03, cy - 0.03], [cx + s * 0.045, cy], [cx + s * 0.03, cy + 0.03]])
            draw.line(_flat(pj.surface(mark)), fill=_mix(st.skin, st.line, 0.6 * dimple), width=int(width * 0.01))


def draw_face(frame: np.ndarray, style: FaceStyle = FaceStyle()) -> Image.Image:
    """One (58,) frame -> an RGB image of `style.size` pixels square."""
    frame = np.asarray(frame, dtype=np.float64)
    if frame.shape != (FACE_DIM,):
        raise UsageError(f"a face frame has {FACE_DIM} channels, got shape {frame.shape}")
    px = style.size * style.supersample
    image = Image.new("RGB", (px, px), style.background)
    draw = ImageDraw.Draw(image)
    f, pj = _Frame(frame), _Projector(frame, style)
    width = pj.scale  # line widths scale with the face
    _head(draw, f, pj, style)
    _cheeks(draw, f, pj, style)
    _eyes(draw, f, pj, style, width)
    _brows(draw, f, pj, style, width)  # after the eyes: a lowered brow overlaps the lid
    _nose(draw, f, pj, style, width)
    _mouth(draw, f, pj, style, width)
    return image.reduce(style.supersample) if style.supersample > 1 else image


def render_face(frame: np.ndarray, style: FaceStyle = FaceStyle()) -> np.ndarray:
    """(58,) -> (size, size, 3) uint8."""
    return np.asarray(draw_face(frame, style))
