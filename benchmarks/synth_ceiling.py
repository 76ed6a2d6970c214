"""What a perfect model of the synthetic world scores, beside Mime.

For every pair of a split the listener is simulated again K times with the speaker's behaviour
fixed and only the listener's own choices redrawn (which reactions, when, their spontaneous
smiles, blinks, gaze and drift): exactly the distribution a perfect generator would sample.
With --tokenizer, the same faces are also encoded and decoded by a trained tokenizer: the best
any generator over its tokens can score.

    python benchmarks/synth_ceiling.py ROOT [--split val] [--samples 10] [--tokenizer DIR]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from facereact.baselines.rule_based import TrainStats, rule_based
from facereact.data.eval_set import load_eval_set
from facereact.layout import CLIP_FRAMES, EMOTION_DIM, FACE_DIM, FPS
from facereact.metrics import evaluate_both
from facereact.synth.conversation import resample_listener
from facereact.synth.emotion_rules import emotion_from_face
from facereact.synth.face import render_face
from facereact.synth.writer import read_config, session_plan, simulate_session
from facereact.tokenizer.model import FaceTokenizer


@torch.no_grad()
def _round_trip(folder: str, faces: np.ndarray) -> np.ndarray:
    """Emotions decoded from the tokens of the faces (N, K, T, FACE_DIM): the tokenizer's ceiling."""
    tokenizer = FaceTokenizer.load(folder)
    flat = torch.from_numpy(faces.reshape(-1, *faces.shape[2:]))
    emotion = tokenizer.decode(tokenizer.encode(flat))[1].numpy()
    return emotion.reshape(*faces.shape[:3], -1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--split", default="val")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--tokenizer", help="also score the perfect samples after a round trip through this tokenizer")
    args = ap.parse_args()
    config = read_config(args.root)
    splits, seeds = session_plan(config)
    duration = config.frames / FPS
    listed = [tracks for index, split in enumerate(splits) if split == args.split
              for _, tracks, _, _ in simulate_session(index, config, seeds[index])]
    rows = [(tracks, 1) for tracks in listed] + [(tracks, 0) for tracks in listed]  # mirrored order
    frames = min(CLIP_FRAMES, config.frames)
    pred = np.zeros((len(rows), args.samples, frames, EMOTION_DIM), np.float32)
    faces = np.zeros((len(rows), args.samples, frames, FACE_DIM), np.float32)
    for k, (tracks, listener) in enumerate(rows):
        for i in range(args.samples):
            rng = np.random.default_rng((77, k, i))
            face = render_face(resample_listener(tracks, listener, duration, rng), config.frames, rng)
            pred[k, i] = emotion_from_face(face)[:frames]
            faces[k, i] = face[:frames]
    val = load_eval_set(args.root, args.split, frames)
    stats = TrainStats.from_eval_set(load_eval_set(args.root, "train", frames, with_neighbours=False))
    systems = {"perfect model (resampled listener)": pred,
               "Mime": rule_based("Mime", val, stats, k=args.samples).emotion}
    if args.tokenizer:
        systems["perfect model through the tokenizer"] = _round_trip(args.tokenizer, faces)
    for name, emotion in systems.items():
        r = evaluate_both(emotion, val.listener_emotion, val.speaker_emotion, val.neighbour)
        print(f"{name:36s} FRCorr {r['FRCorr']:.4f}  FRDist {r['FRDist']:.2f}  FRDiv {r['FRDiv']:.4f}")


if __name__ == "__main__":
    main()
