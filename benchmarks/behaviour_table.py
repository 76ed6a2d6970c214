"""The behaviour table (metrics/behaviour.py) of prediction files and of tokenizers' round trips.

A tokenizer's row is the real listeners encoded to tokens and decoded: what it keeps of each
reaction before any generator runs (a generator cannot time what its tokens cannot show). The
real listeners' row comes first; every row is scored on the same clips (a MARS corpus: every
input clip of the split, both directions, whole; tokenizers only).

With --parts, a second table splits each lift into its two parts in the channels' own units: the
reaction's activity over whole clips (the lift's denominator) and after the speaker's events (its
numerator), with the nodding band's amplitude at its 90th and 99th percentile: whether a lift is
off because the reaction after the events is, or because the face elsewhere is too calm or too busy.

    python benchmarks/behaviour_table.py --data results/demo/corpus \
        --tokenizers results/demo/tokenizer --predictions results/demo/pred_val_generator_online.npz [--parts]
    python benchmarks/behaviour_table.py --data results/mars/b/corpus --tokenizers results/mars/b/tokenizer
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from facereact.data.mars import MarsCorpus, is_mars
from facereact.layout import CLIP_FRAMES
from facereact.metrics.behaviour import (BEHAVIOUR_COLUMNS, BEHAVIOUR_NOTE, REACTIONS, behaviour_row, lift_parts,
                                         nod_envelope)
from facereact.metrics.behaviour_inputs import BehaviourTruth, load_behaviour_truth, mars_behaviour_truth
from facereact.metrics.files import read_npz
from facereact.report import markdown_table
from facereact.tokenizer.model import FaceTokenizer


@torch.no_grad()
def round_trip(tokenizer: FaceTokenizer, faces: list[np.ndarray]) -> np.ndarray:
    """(N, 1, T, FACE_DIM) faces encoded to tokens and decoded, whole clips."""
    decoded = [tokenizer.decode(tokenizer.encode(torch.from_numpy(f).float()[None]))[0][0].numpy() for f in faces]
    return np.stack(decoded)[:, None]


def nod_amplitudes(faces: list[np.ndarray], fps: float) -> np.ndarray:
    """The nodding band's amplitude envelope (rad) at its 90th and 99th percentile over every frame."""
    return np.percentile(np.concatenate([nod_envelope(f, fps).ravel() for f in faces]), [90, 99])


def parts_table(truth: BehaviourTruth, rows: dict[str, list[np.ndarray]]) -> str:
    """The --parts table: per row of faces, each reaction's level / after-event activity, and the nod's
    amplitude percentiles."""
    lines = ["| listeners | " + " | ".join(f"{name}: clip / after" for name in REACTIONS) + " | nod p90 / p99 (rad) |",
             "|---|" + "---:|" * (len(REACTIONS) + 1)]
    for name, faces in rows.items():
        cells = [lift_parts(truth.events, faces, r, truth.fps) for r in REACTIONS.values()]
        p90, p99 = nod_amplitudes(faces, truth.fps)
        parts = " | ".join(f"{level:.3g} / {after:.3g}" for level, after in cells)
        lines.append(f"| {name} | {parts} | {p90:.4f} / {p99:.4f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--tokenizers", nargs="*", default=[], help="tokenizer folders")
    ap.add_argument("--predictions", nargs="*", default=[], help="prediction files holding 'pred_face'")
    ap.add_argument("--parts", action="store_true", help="also each lift's level and after-event parts")
    args = ap.parse_args()
    faces = {Path(p).stem: read_npz(Path(p))["pred_face"] for p in args.predictions}
    mars = is_mars(args.data)
    if mars:  # clips of any length, both directions: the tokenizers' rows only
        if faces:
            raise SystemExit("a MARS corpus: --tokenizers only (its prediction files hold no faces)")
        corpus = MarsCorpus(args.data, args.split)
        truth = mars_behaviour_truth(corpus, corpus.inputs("both"))
    else:
        truth = load_behaviour_truth(args.data, args.split, min([CLIP_FRAMES] + [f.shape[2] for f in faces.values()]))
    rows = {"GroundTruth": behaviour_row(truth.figures, truth.figures)}  # the real listeners
    listeners = {"GroundTruth": truth.listener_face}  # each row's faces, for --parts
    for folder in args.tokenizers:
        tokenizer = FaceTokenizer.load(folder)
        if mars:
            decoded = [round_trip(tokenizer, [f])[0] for f in truth.listener_face]
            rows[f"tokenizer {folder}"] = truth.score_clips(decoded)[1]
        else:
            decoded = round_trip(tokenizer, truth.listener_face)
            rows[f"tokenizer {folder}"] = truth.score(decoded)[1]
        listeners[f"tokenizer {folder}"] = list(decoded)
    for name, pred_face in faces.items():
        rows[name] = truth.score(pred_face)[1]
        listeners[name] = list(pred_face)
    print(markdown_table(rows, BEHAVIOUR_COLUMNS, BEHAVIOUR_NOTE))
    if args.parts:
        print("\n" + parts_table(truth, listeners))


if __name__ == "__main__":
    main()
