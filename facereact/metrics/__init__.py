"""The REACT 2024 metrics, exact and fast: see docs/metrics.md for the semantics."""
from facereact.metrics.correlation import ccc_matrix, frcorr
from facereact.metrics.diversity import frdiv, frdvs, frvar
from facereact.metrics.dtw import frdist, grouped_dtw
from facereact.metrics.evaluate import MODES, evaluate, evaluate_both
from facereact.metrics.inputs import MetricInputs, check_inputs
from facereact.metrics.realism import frechet_distance, frfd
from facereact.metrics.synchrony import frsyn, sync_offsets

__all__ = ["MODES", "MetricInputs", "ccc_matrix", "check_inputs", "evaluate", "evaluate_both", "frcorr",
           "frdist", "frdiv", "frdvs", "frechet_distance", "frfd", "frsyn", "frvar", "grouped_dtw",
           "sync_offsets"]
