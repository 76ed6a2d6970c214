"""All REACT figures for one set of predictions, with timings."""
from __future__ import annotations

import time

from facereact.errors import UsageError
from facereact.metrics.correlation import frcorr
from facereact.metrics.diversity import spread
from facereact.metrics.dtw import min_distances
from facereact.metrics.inputs import MetricInputs, check_inputs
from facereact.metrics.realism import frfd
from facereact.metrics.synchrony import frsyn

MODES = ("official", "corrected")


def evaluate(pred, listener_gt, speaker_gt, neighbour, mode: str = "official", progress: bool = False,
             source: str | None = None) -> dict:
    """FRCorr FRDist FRDiv FRVar FRDvs FRFD FRSyn of `pred` (N, K, T, 25) against the ground truth.

    mode: "official" reproduces the challenge's reference (FRSyn on sample 0, constant columns
    forcing offset 49); "corrected" scores FRSyn over all samples without that quirk. The other
    figures are the same in both modes.
    """
    if mode not in MODES:
        raise UsageError(f"mode must be one of {MODES}, got '{mode}'")
    return _evaluate(check_inputs(pred, listener_gt, speaker_gt, neighbour, source=source), mode, progress)


def _evaluate(inputs: MetricInputs, mode: str, progress: bool) -> dict:
    result: dict = {"mode": mode, "shapes": {"pred": list(inputs.pred.shape),
                                              "neighbours_per_row_mean": float(inputs.neighbour.sum(1).mean())},
                    "seconds": {}}

    def timed(name, fn):
        t0 = time.perf_counter()
        value = fn()
        result["seconds"][name] = round(time.perf_counter() - t0, 4)
        return value

    result["FRCorr"] = timed("FRCorr", lambda: frcorr(inputs, progress))
    distances, work = timed("FRDist", lambda: min_distances(inputs, progress))
    result["FRDist"] = float(distances.sum(axis=1).mean())
    figures = timed("FRDiv FRVar FRDvs", lambda: spread(inputs.pred))  # one pass for the three
    # One reaction per speaker has no diversity to measure: the reference reports 0 (official);
    # corrected says so instead (None).
    result["FRDiv"] = figures.frdiv if inputs.pred.shape[1] > 1 else (0.0 if mode == "official" else None)
    result["FRVar"] = figures.frvar
    result["FRDvs"] = figures.frdvs
    result["FRFD"] = timed("FRFD", lambda: frfd(inputs.pred, inputs.listener_gt))
    result["FRSyn"] = timed("FRSyn", lambda: frsyn(inputs.pred, inputs.speaker_gt, mode))
    result["work"] = work
    return result


def evaluate_both(pred, listener_gt, speaker_gt, neighbour, progress: bool = False,
                  source: str | None = None) -> dict:
    """Official and corrected figures side by side (only FRSyn differs)."""
    inputs = check_inputs(pred, listener_gt, speaker_gt, neighbour, source=source)
    official = _evaluate(inputs, "official", progress)
    t0 = time.perf_counter()
    official["FRSyn_corrected"] = frsyn(inputs.pred, inputs.speaker_gt, "corrected")
    official["seconds"]["FRSyn_corrected"] = round(time.perf_counter() - t0, 4)
    official["mode"] = "both"
    return official
