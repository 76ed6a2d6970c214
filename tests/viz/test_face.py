"""The drawn face: each channel moves the part of the face it names, and only there."""
from __future__ import annotations

import numpy as np
import pytest

from facereact.layout import FACE_DIM, face_index
from facereact.viz.face import FaceStyle, render_face

STYLE = FaceStyle(size=128)


def frame(**channels: float) -> np.ndarray:
    x = np.zeros(FACE_DIM)
    for name, value in channels.items():
        x[face_index(name)] = value
    return x


def box(x0: float, x1: float, y0: float, y1: float) -> tuple[slice, slice]:
    """Rows, columns of a face-unit box (head half-height 1, centre 0, y down) at zero pose."""
    half, scale = STYLE.size / 2, 0.40 * STYLE.size

    def px(v: float) -> int:
        return int(round(half + v * scale))

    return slice(px(y0), px(y1)), slice(px(x0), px(x1))


MOUTH = box(-0.35, 0.35, 0.38, 0.80)
EYES = box(-0.45, 0.45, -0.33, -0.12)
BROWS = box(-0.48, 0.48, -0.66, -0.36)


def changed(a: np.ndarray, b: np.ndarray, region: tuple[slice, slice]) -> int:
    """Pixels whose colour differs by more than a faint edge would."""
    diff = np.abs(a.astype(int) - b.astype(int)).sum(axis=2)
    return int((diff[region] > 30).sum())


def iris_row(image: np.ndarray) -> float:
    """Mean row of the blue iris pixels, which a nod carries down and up."""
    rgb = image.astype(int)
    rows, _ = np.nonzero(rgb[..., 2] > rgb[..., 0] + 50)
    return float(rows.mean())


@pytest.fixture(scope="module")
def neutral() -> np.ndarray:
    return render_face(frame(), STYLE)


def test_image_shape_and_type(neutral: np.ndarray) -> None:
    assert neutral.shape == (128, 128, 3) and neutral.dtype == np.uint8


def test_smile_changes_the_mouth_not_the_eyes(neutral: np.ndarray) -> None:
    smile = render_face(frame(mouthSmileLeft=1.0, mouthSmileRight=1.0), STYLE)
    assert changed(neutral, smile, MOUTH) > 40
    assert changed(neutral, smile, EYES) == 0
    assert changed(neutral, smile, BROWS) == 0


def test_blink_changes_the_eyes_not_the_mouth(neutral: np.ndarray) -> None:
    blink = render_face(frame(eyeBlinkLeft=1.0, eyeBlinkRight=1.0), STYLE)
    assert changed(neutral, blink, EYES) > 40
    assert changed(neutral, blink, MOUTH) == 0


def test_one_eye_blink_is_on_the_persons_left_image_right(neutral: np.ndarray) -> None:
    wink = render_face(frame(eyeBlinkLeft=1.0), STYLE)
    rows, cols = EYES
    mid = STYLE.size // 2
    assert changed(neutral, wink, (rows, slice(mid, cols.stop))) > 20
    assert changed(neutral, wink, (rows, slice(cols.start, mid))) == 0


def test_brow_raise_changes_the_brows_not_the_mouth(neutral: np.ndarray) -> None:
    raised = render_face(frame(browInnerUp=1.0, browOuterUpLeft=1.0, browOuterUpRight=1.0), STYLE)
    assert changed(neutral, raised, BROWS) > 20
    assert changed(neutral, raised, MOUTH) == 0


def test_jaw_open_shows_the_mouth_inside(neutral: np.ndarray) -> None:
    open_jaw = render_face(frame(jawOpen=1.0), STYLE)
    dark = lambda im: int((im[MOUTH].astype(int).sum(axis=2) < 200).sum())  # noqa: E731
    assert dark(open_jaw) > dark(neutral) + 50


def test_nod_moves_the_features_down_and_back(neutral: np.ndarray) -> None:
    down = render_face(frame(pitch=0.15), STYLE)
    up = render_face(frame(pitch=-0.15), STYLE)
    y0 = iris_row(neutral)
    assert iris_row(down) > y0 + 3
    assert iris_row(up) < y0 - 3


def test_translation_moves_the_head() -> None:
    left, right = render_face(frame(tx=-0.05), STYLE), render_face(frame(tx=0.05), STYLE)
    cols = lambda im: np.nonzero((np.abs(im.astype(int) - STYLE.background).sum(axis=2) > 30).any(axis=0))[0]  # noqa: E731
    assert cols(right).mean() > cols(left).mean() + 10


def test_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="58 channels"):
        render_face(np.zeros(52), STYLE)
