"""Turn-taking measured: the listener's backchannels while it speaks itself, listening resumed, and
what the turn filter costs a step.

Every clip of a split streams through one StreamingSession (audio alone, K reactions) twice with
the same seeds: once never speaking, once speaking over set spans (3 s in every 8, from 4 s).
Counted in each span (its first and last SMOOTH_S / 2 left out: the envelopes are centred) are nod
onsets (metrics/behaviour.nod_onsets) and lip-press onsets (the "mm-hmm" channels' activity rising
above its 90th percentile over listening frames), per minute; the resumes' largest frame-to-frame
change against the listening frames' 99th percentile; and the step's time with and without the
filter, alternating in one run.

    python benchmarks/turn_taking.py --model results/demo/generator_online --data results/demo/corpus
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from facereact.data.corpus import ReactCorpus
from facereact.generator.model import load_generator
from facereact.generator.session import StreamingSession, compile_steps
from facereact.generator.turns import TurnTaking, speaking_frames
from facereact.layout import FPS, N_BLENDSHAPES, face_index
from facereact.metrics.behaviour import REACTIONS, SMOOTH_S, activity, nod_onsets, rising


def stream(generator, tokenizer, audio: np.ndarray, samples: int, speaking: np.ndarray | None
           ) -> tuple[np.ndarray, np.ndarray]:
    """(clips, K, T, FACE_DIM) faces and (clips, K, T) tokens."""
    clips, frames = audio.shape[:2]
    session = StreamingSession(generator, tokenizer, samples, seeds=list(range(clips)),
                               turns=TurnTaking() if speaking is not None else None)
    faces, tokens = [], []
    for t in range(frames):
        out = session.step_clips(audio[:, t], speaking=None if speaking is None else np.full(clips, speaking[t]))
        faces.append(out.face.reshape(clips, samples, -1))
        tokens.append(out.tokens.reshape(clips, samples))
    return np.stack(faces, 2), np.stack(tokens, 2)


def live_step_ms(generator, tokenizer, audio: np.ndarray, samples: int, speaking: np.ndarray) -> tuple[float, float]:
    """p50 of one live conversation's step (K reactions) without and with the turn filter, the two
    sessions stepping alternately over the same frames."""
    without = StreamingSession(generator, tokenizer, samples, turns=None)
    with_turns = StreamingSession(generator, tokenizer, samples)
    took = ([], [])
    for t in range(audio.shape[0]):
        for i, (session, flag) in enumerate(((without, False), (with_turns, bool(speaking[t])))):
            t0 = time.perf_counter()
            session.step_features(audio[t], speaking=flag)
            took[i].append(time.perf_counter() - t0)
    return tuple(float(np.percentile(np.array(x[25:]) * 1000, 50)) for x in took)


def spans_of(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2]))


EDGE = int(round(SMOOTH_S * FPS / 2))  # frames at each end of a span left out: the envelopes are centred


def onsets_per_minute(faces: np.ndarray, spans: list[tuple[int, int]], onsets) -> float:
    """onsets(faces of one span) -> (..., frames) bool, each span taken on its own (a filter over
    the whole clip would ring into a still span from the motion around it), its edges left out;
    per minute of every reaction."""
    count = sum(onsets(faces[..., a:b, :])[..., EDGE:-EDGE].sum() for a, b in spans)
    minutes = sum(b - a - 2 * EDGE for a, b in spans) / FPS / 60 * np.prod(faces.shape[:-2])
    return float(count / minutes)


def lip_onsets(threshold: float):
    """The lip-press ("mm-hmm") activity rising above threshold."""
    return lambda faces: rising(activity(faces, REACTIONS["mmhmm"], FPS) > threshold)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--clips", type=int, default=None, help="the first N pairs of the split (default all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    generator, tokenizer = load_generator(args.model)
    compile_steps()
    corpus = ReactCorpus(args.data, args.split, 750)
    n = len(corpus) if args.clips is None else min(args.clips, len(corpus))
    audio = np.stack([corpus.load_pair(i).speaker_audio for i in range(n)]).astype(np.float32)
    frames = audio.shape[1]
    speaking = speaking_frames([(s, s + 3.0) for s in np.arange(4.0, frames / FPS, 8.0)], frames, FPS)
    plain_face, plain_tokens = stream(generator, tokenizer, audio, args.samples, None)
    turn_face, turn_tokens = stream(generator, tokenizer, audio, args.samples, speaking)
    assert (plain_tokens == turn_tokens).all(), "speaking must not change what the generator samples"
    talk, listen = spans_of(speaking), spans_of(~speaking)
    print(f"{n} clips x K = {args.samples}, {frames} frames; the listener speaks {speaking.mean():.0%} of the time")
    print("| listener | nods/min speaking | nods/min listening | lip presses/min speaking | "
          "lip presses/min listening |")
    print("|---|---:|---:|---:|---:|")
    listening = [(a, b) for a, b in listen if b - a > 2 * EDGE]
    nods = lambda f: nod_onsets(f, FPS)  # noqa: E731
    lips = lip_onsets(float(np.percentile(activity(plain_face, REACTIONS["mmhmm"], FPS), 90)))
    for name, face in (("never speaks (today)", plain_face), ("speaks, turn-taking", turn_face)):
        print(f"| {name} | {onsets_per_minute(face, talk, nods):.2f} | {onsets_per_minute(face, listening, nods):.2f} | "
              f"{onsets_per_minute(face, talk, lips):.2f} | {onsets_per_minute(face, listening, lips):.2f} |")
    held = np.concatenate([np.arange(a + TurnTaking().fade_in, b - 1) for a, b in talk])
    print(f"held frames: largest frame-to-frame change {np.abs(np.diff(turn_face, axis=2))[:, :, held].max():.2e}")
    fade = TurnTaking().fade_out
    step = np.abs(np.diff(turn_face, axis=2))  # (clips, K, T - 1, FACE_DIM): the change into frame t + 1
    resumes = np.concatenate([np.arange(b - 1, min(b - 1 + fade + 2, frames - 1)) for _, b in talk])
    quiet = np.flatnonzero(~speaking[1:] & ~speaking[:-1])
    for label, cols in (("pitch (rad)", [face_index("pitch")]), ("blendshapes", list(range(N_BLENDSHAPES)))):
        print(f"resume, {label}: largest frame-to-frame change {step[:, :, resumes][..., cols].max():.4f}, 99th "
              f"percentile {np.percentile(step[:, :, resumes][..., cols].max(-1), 99):.4f}; "
              f"listening frames' 99th percentile {np.percentile(step[:, :, quiet][..., cols].max(-1), 99):.4f}, "
              f"largest {step[:, :, quiet][..., cols].max():.4f}")
    plain_ms, turn_ms = live_step_ms(generator, tokenizer, audio[0], args.samples, speaking)
    print(f"one live conversation's step (K = {args.samples}, p50 over {frames} frames, alternating): "
          f"{plain_ms:.3f} ms without the turn filter, {turn_ms:.3f} ms with ({turn_ms / plain_ms:.3f}x)")


if __name__ == "__main__":
    main()
