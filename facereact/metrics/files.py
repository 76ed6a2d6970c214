"""Metric inputs from files: an .npz with everything, or predictions plus a corpus."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facereact.data.clip_io import NPZ_MAGIC, check_magic
from facereact.data.corpus import ReactCorpus
from facereact.data.eval_set import load_eval_set
from facereact.data.paths import split_fingerprint
from facereact.errors import DataError
from facereact.layout import CLIP_FRAMES

INPUT_KEYS = ("pred", "listener_gt", "speaker_gt", "neighbour")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(path, "missing file")
    check_magic(path, NPZ_MAGIC, "a NumPy .npz archive")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as exc:
        raise DataError(path, f"unreadable npz ({exc})") from None


def load_inputs(path: str | Path) -> dict[str, np.ndarray]:
    """`pred`, `listener_gt`, `speaker_gt`, `neighbour` from one .npz."""
    data = read_npz(Path(path))
    missing = [k for k in INPUT_KEYS if k not in data]
    if missing:
        raise DataError(path, f"missing arrays {missing}; it holds {sorted(data)}")
    return {k: data[k] for k in INPUT_KEYS}


def load_with_corpus(pred_path: str | Path, root: str | Path, split: str) -> dict[str, np.ndarray]:
    """`pred` from a predictions file; ground truth and neighbours from the corpus split."""
    data = read_npz(Path(pred_path))
    if "pred" not in data:
        raise DataError(pred_path, f"no 'pred' array; it holds {sorted(data)}")
    pred = data["pred"]
    if "split" in data and str(data["split"]) != split:
        raise DataError(pred_path, f"predictions of the {data['split']} split, scored against {split}: "
                                   f"give --split {data['split']}")
    if "corpus" in data and str(data["corpus"]) != split_fingerprint(root, split):
        raise DataError(pred_path, f"predictions made on another corpus (or another version of its {split} "
                                   f"split) than {root}")
    rows = len(ReactCorpus(root, split))
    if pred.ndim != 4 or pred.shape[0] != rows:
        raise DataError(pred_path, f"'pred' has shape {pred.shape}, expected ({rows}, K, T, D): one row per "
                                   f"pair of {split} in mirrored order")
    truth = load_eval_set(root, split, pred.shape[2])
    scored = min(CLIP_FRAMES, truth.recorded_frames)
    if pred.shape[2] < scored:
        print(f"note: {pred_path} holds {pred.shape[2]} frames a reaction, the clips {scored}: scored against "
              f"the first {pred.shape[2]} frames of the ground truth", file=sys.stderr)
    return {"pred": pred, "listener_gt": truth.listener_emotion, "speaker_gt": truth.speaker_emotion,
            "neighbour": truth.neighbour}
