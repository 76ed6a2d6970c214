"""Persona fidelity: does each generated listener behave like the person it stands for? (Ours, not
the challenge's; docs/metrics.md, "Persona fidelity".)

Listeners differ in style more than in what they react to: how much their face moves, how often
they smile, blink, raise their brows and nod. Each style is measured on every listener clip from
its face alone (observables, so real corpora are measured as synthetic ones), for the real listener
and for the mean of the K generated reactions to the same speaker. Fidelity is, per style, the
Pearson correlation across clips between the two (1: the generated listeners rank as the real
ones do; 0: blind to who listens), and the error the mean |generated - real| in units of the real
listeners' spread across clips. A personal generator that knows who listens should raise the one
and lower the other over a generic one, which can only guess the listener from the speaker.
"""
from __future__ import annotations

import numpy as np

from facereact.layout import N_BLENDSHAPES, face_index
from facereact.metrics.behaviour import nod_onsets, rising

BLINK_LEVEL = 0.5  # an eye counts as closed above this blink score
SMILE = ("mouthSmileLeft", "mouthSmileRight")
BROW = ("browInnerUp", "browOuterUpLeft", "browOuterUpRight")
BLINK = ("eyeBlinkLeft", "eyeBlinkRight")
STYLES = ("expressiveness", "smile", "brow", "blinks/min", "nods/min")


def _mean_of(face: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return face[..., [face_index(n) for n in names]].mean(-1)


def styles(face: np.ndarray, fps: float) -> dict[str, float]:
    """One listener clip's styles, face (T, FACE_DIM), or the mean over reactions of (K, T, FACE_DIM)."""
    faces = face[None] if face.ndim == 2 else face
    minutes = faces.shape[-2] / fps / 60.0
    blinks = rising(_mean_of(faces, BLINK) > BLINK_LEVEL).sum(-1)
    return {"expressiveness": float(faces[..., :N_BLENDSHAPES].std(-2).mean()),
            "smile": float(_mean_of(faces, SMILE).mean()),
            "brow": float(_mean_of(faces, BROW).mean()),
            "blinks/min": float(blinks.mean() / minutes),
            "nods/min": float(nod_onsets(faces, fps).sum(-1).mean() / minutes)}


class PersonaTruth:
    """The real listeners' styles, measured once, against which any number of systems are scored
    (as metrics/behaviour_inputs.BehaviourTruth is for the behaviour figures)."""

    def __init__(self, real: list[np.ndarray], fps: float) -> None:
        """real[n] (T_n, FACE_DIM): the real listener of clip n."""
        if len(real) < 3:
            raise ValueError(f"persona fidelity needs at least 3 clips (a correlation across them), got {len(real)}")
        self.fps, self.clips = fps, len(real)
        measured = [styles(f, fps) for f in real]
        self.truth = {name: np.array([m[name] for m in measured]) for name in STYLES}

    def score(self, generated: list[np.ndarray]) -> dict:
        """generated[n] (K, T_n, FACE_DIM), the same clips: per style, the correlation across clips
        ("r") and the error in real spreads ("error"), then their means over the styles
        ("fidelity", "error")."""
        if len(generated) != self.clips:
            raise ValueError(f"persona fidelity needs the same clips, got {self.clips} real and {len(generated)} generated")
        made = [styles(f, self.fps) for f in generated]
        out: dict = {"styles": {}}
        for name in STYLES:
            a, b = self.truth[name], np.array([m[name] for m in made])
            spread = a.std()
            r = float(np.corrcoef(a, b)[0, 1]) if spread > 0 and b.std() > 0 else 0.0
            error = float(np.abs(b - a).mean() / spread) if spread > 0 else float("nan")
            out["styles"][name] = {"r": round(r, 4), "error": round(error, 4)}
        rs = [s["r"] for s in out["styles"].values()]
        errors = [s["error"] for s in out["styles"].values() if np.isfinite(s["error"])]
        out["fidelity"] = round(float(np.mean(rs)), 4)
        out["error"] = round(float(np.mean(errors)), 4) if errors else float("nan")
        return out


def persona_fidelity(real: list[np.ndarray], generated: list[np.ndarray], fps: float) -> dict:
    """real[n] (T_n, FACE_DIM) and generated[n] (K, T_n, FACE_DIM), one per clip: PersonaTruth's
    score of one system."""
    if len(real) != len(generated) or len(real) < 3:
        raise ValueError(f"persona fidelity needs the same clips, at least 3, got {len(real)} and {len(generated)}")
    return PersonaTruth(real, fps).score(generated)


# The persona table's columns: each style's correlation, then the means.
PERSONA_COLUMNS = {"fidelity": "max", "error": "min", **{f"{name} r": "max" for name in STYLES}}
PERSONA_NOTE = ("Ours, not the challenge's (docs/metrics.md, \"Persona fidelity\"): per listener style, the "
                "correlation across clips between each real listener and the mean of the K reactions generated "
                "for the same speaker; fidelity: their mean; error: mean |generated - real| in real spreads. "
                "Bold: best.")


def persona_row(figures: dict) -> dict:
    """One table row of persona_fidelity()'s figures."""
    return {"fidelity": figures["fidelity"], "error": figures["error"],
            **{f"{name} r": s["r"] for name, s in figures["styles"].items()}}
