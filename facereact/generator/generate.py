"""`facereact generate`: K reactions for every pair of a split, ready for `facereact evaluate`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from facereact.data.paths import provenance
from facereact.data.rates import check_fits
from facereact.generator.data import TokenizedPair, load_tokenized_pairs, require_personalities
from facereact.generator.inputs import uses
from facereact.generator.model import ReactionGenerator
from facereact.generator.sampling import Sampling
from facereact.generator.session import generate_clips
from facereact.layout import CLIP_FRAMES
from facereact.tokenizer.model import FaceTokenizer

# Clips generated side by side in one batch: one forward pass per frame serves them all. On 2
# cores (K = 10, guidance 2) a clip-frame costs 13-17 ms alone, 3.3-3.9 with 8 clips, 1.6 with 56.
BATCH_CLIPS = 64


def generate_split(generator: ReactionGenerator, tokenizer: FaceTokenizer, root: str | Path, split: str,
                   samples: int = 10, sampling: Sampling | None = None, seed: int = 0, progress: bool = True,
                   inputs: str = "full", rows: int | None = None, frames: int | None = None,
                   personal: bool = False) -> dict[str, np.ndarray]:
    """pred (N, K, T, EMOTION_DIM) and pred_face (N, K, T, FACE_DIM) in the split's mirrored row order,
    T = the shortest clip's frames, at most the 750 the metrics score (and at most `frames`).

    Row k is seeded with seed + k, so the first `rows` rows can be regenerated alone (identically up
    to the float rounding of batched products, which can flip a rare draw). `inputs` names what the
    speaker stream hears (generator/inputs.py); personal: a personal generator told each listener's
    personality (the split's personality.csv). The split, its corpus fingerprint and the input set
    ride along, for `facereact evaluate` to check.
    """
    check_fits(generator.config.fps, generator.config.audio_feature, root, "this generator")
    uses(inputs)  # an unknown input set fails before any work
    if personal:
        require_personalities(root, split)
    pairs = load_tokenized_pairs(root, split, tokenizer, progress=progress)[:rows]
    return {**generate_pairs(generator, tokenizer, pairs, samples, sampling, seed, progress, inputs, frames,
                             desc=f"generate {split} ({inputs})", personal=personal),
            **provenance(root, split), "inputs": np.array(inputs)}


def generate_pairs(generator: ReactionGenerator, tokenizer: FaceTokenizer, pairs: list[TokenizedPair],
                   samples: int, sampling: Sampling | None, seed: int, progress: bool = True, inputs: str = "full",
                   frames: int | None = None, desc: str = "generate", personal: bool = False) -> dict[str, np.ndarray]:
    """generate_split() of pairs already loaded (load_tokenized_pairs): pred and pred_face only."""
    t = min(CLIP_FRAMES, frames or CLIP_FRAMES, *(len(p.listener_tokens) for p in pairs))
    emotions, faces = [], []
    with tqdm(total=len(pairs) * t, desc=desc, unit="clip-frame", unit_scale=True, disable=not progress) as bar:
        for start in range(0, len(pairs), BATCH_CLIPS):
            batch = pairs[start:start + BATCH_CLIPS]
            face, emotion = _react(generator, tokenizer, batch, t, inputs, samples, sampling,
                                   [seed + start + i for i in range(len(batch))], bar, personal)
            faces.append(face)
            emotions.append(emotion)
    return {"pred": np.concatenate(emotions).astype(np.float32),
            "pred_face": np.concatenate(faces).astype(np.float32)}


def generate_mars(generator: ReactionGenerator, tokenizer: FaceTokenizer, root: str | Path, split: str,
                  samples: int = 10, sampling: Sampling | None = None, seed: int = 0, progress: bool = True,
                  inputs: str = "full", personal: bool = False, faces: dict | None = None) -> dict[str, np.ndarray]:
    """{input clip name: (K, T, 25)} for every clip of a MARS split with a partner, each reaction as
    long as its input (the whole clip, streamed: memory follows the model's band, not the clip).
    Clips of equal length share a batch; clip i of the sorted inputs is seeded with seed + i.
    personal: a personal generator told each listener's personality (REACT 2026's personalised
    track; a listener without one in the release is unknown); else every listener is unknown.
    faces: a dict to receive the listener faces too, {name: (K, T, FACE_DIM)}."""
    check_fits(generator.config.fps, generator.config.audio_feature, root, "this generator")
    uses(inputs)
    if personal:
        require_personalities(root, split)
    pairs = load_tokenized_pairs(root, split, tokenizer, progress=progress)
    return generate_mars_pairs(generator, tokenizer, pairs, samples, sampling, seed, progress, inputs, personal,
                               faces, desc=f"generate {split} ({inputs})")


def generate_mars_pairs(generator: ReactionGenerator, tokenizer: FaceTokenizer, pairs: list[TokenizedPair],
                        samples: int, sampling: Sampling | None, seed: int, progress: bool = True,
                        inputs: str = "full", personal: bool = False, faces: dict | None = None,
                        frames: int | None = None, desc: str = "generate") -> dict[str, np.ndarray]:
    """generate_mars() of a MARS split's pairs already loaded; frames: each input cut to its first
    `frames` (a quicker draw, for a ranking: reactions are then that long)."""
    by_length: dict[int, list[int]] = {}
    for i, p in enumerate(pairs):
        by_length.setdefault(min(len(p.speaker_audio), frames or len(p.speaker_audio)), []).append(i)
    out = {}
    with tqdm(total=sum(len(g) * t for t, g in by_length.items()), desc=desc,
              unit="clip-frame", unit_scale=True, disable=not progress) as bar:
        for length, group in by_length.items():
            for start in range(0, len(group), BATCH_CLIPS):
                rows = group[start:start + BATCH_CLIPS]
                face, emotion = _react(generator, tokenizer, [pairs[i] for i in rows], length, inputs, samples,
                                       sampling, [seed + i for i in rows], bar, personal)
                for i, reactions, looks in zip(rows, emotion, face):
                    out[pairs[i].name] = reactions.astype(np.float32)
                    if faces is not None:
                        faces[pairs[i].name] = looks.astype(np.float32)
    return out


def _react(generator: ReactionGenerator, tokenizer: FaceTokenizer, batch: list, frames: int | None, inputs: str,
           samples: int, sampling: Sampling, seeds: list[int], bar: tqdm, personal: bool = False
           ) -> tuple[np.ndarray, np.ndarray]:
    """Faces and emotions (clips, K, T, ...) for a batch of pairs, each speaker cut to `frames`
    (None: whole, all of one length), hearing the input set `inputs`; personal: each listener's
    personality given."""
    with_face, with_emotion, read = uses(inputs)
    cut = slice(frames)
    face, emotion, _ = generate_clips(
        generator, tokenizer, np.stack([p.speaker_audio[cut] for p in batch]),
        np.stack([p.speaker_face[cut] for p in batch]) if with_face else None,
        np.stack([p.speaker_emotion[cut] for p in batch]) if with_emotion else None,
        samples, sampling, seeds, read_emotion=read, on_frame=lambda: bar.update(len(batch)),
        personality=[p.listener_personality for p in batch] if personal else None)
    return face, emotion
