"""Persona fidelity: styles measured as defined, and a generated listener that is its real one
scores 1, one that is another clip's scores less."""
import numpy as np
import pytest

from facereact.layout import FACE_DIM, face_index
from facereact.metrics.persona import STYLES, persona_fidelity, styles

FPS = 30


def _listener(seed: int, frames: int = 600) -> np.ndarray:
    """A listener of its own style: smile level, blink count, expressiveness all from the seed."""
    rng = np.random.default_rng(seed)
    face = rng.normal(0, 0.02 + 0.01 * seed, (frames, FACE_DIM)).astype(np.float32)
    for name in ("mouthSmileLeft", "mouthSmileRight"):
        face[:, face_index(name)] += 0.05 * seed
    for start in range(10, frames - 5, frames // (2 + seed)):  # 2 + seed blinks a clip
        for name in ("eyeBlinkLeft", "eyeBlinkRight"):
            face[start:start + 4, face_index(name)] = 1.0
    return face


def test_styles_are_what_they_say() -> None:
    face = _listener(3)
    got = styles(face, FPS)
    assert set(got) == set(STYLES)
    assert got["blinks/min"] == pytest.approx(5 / (600 / FPS / 60))  # 5 blinks in 20 s: 15 a minute
    assert got["smile"] == pytest.approx(face[:, [face_index("mouthSmileLeft"), face_index("mouthSmileRight")]].mean())
    # K reactions: the mean of each reaction's styles
    two = np.stack([_listener(1), _listener(3)])
    assert styles(two, FPS)["blinks/min"] == pytest.approx((3 + 5) / 2 / (600 / FPS / 60))


def test_the_real_listeners_score_one_and_other_clips_listeners_less() -> None:
    real = [_listener(s) for s in range(6)]
    same = persona_fidelity(real, [f[None] for f in real], FPS)
    assert same["fidelity"] == pytest.approx(1.0) and same["error"] == pytest.approx(0.0)
    shuffled = persona_fidelity(real, [real[i][None] for i in (3, 5, 0, 4, 1, 2)], FPS)
    assert shuffled["fidelity"] < 0.5 and shuffled["error"] > 0.5
    with pytest.raises(ValueError, match="at least 3"):
        persona_fidelity(real[:2], [f[None] for f in real[:2]], FPS)
