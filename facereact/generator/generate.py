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
BATCH_FRAMES = 64 * 1024  # a MARS batch's padded clip-frames at most (its speaker arrays are in memory)


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
    lengths = [min(len(p.speaker_audio), frames or len(p.speaker_audio)) for p in pairs]
    batches = mars_batches(lengths, padded=not generator.config.offline)
    out = {}
    with tqdm(total=sum(len(rows) * max(lengths[i] for i in rows) for rows in batches), desc=desc,
              unit="clip-frame", unit_scale=True, disable=not progress) as bar:
        for rows in batches:
            face, emotion = _react(generator, tokenizer, [pairs[i] for i in rows], max(lengths[i] for i in rows),
                                   inputs, samples, sampling, [seed + i for i in rows], bar, personal)
            for i, reactions, looks in zip(rows, emotion, face):
                out[pairs[i].name] = reactions[:, :lengths[i]].astype(np.float32)
                if faces is not None:
                    faces[pairs[i].name] = looks[:, :lengths[i]].astype(np.float32)
    return out


def mars_batches(lengths: list[int], padded: bool) -> list[list[int]]:
    """Clips generated side by side. An online generator's frame t never sees a later frame, so a
    clip can run padded to the longest of its batch and be cut after, exactly as alone: clips
    batch by sorted length (at most BATCH_CLIPS, and BATCH_FRAMES padded frames: a release's clips
    reach 20 000 frames of 768 features). An offline one sees ahead: only clips of one length share."""
    batches: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):  # stable: equal lengths in input order
        rows = batches[-1] if batches else []
        if rows and len(rows) < BATCH_CLIPS and (len(rows) + 1) * lengths[i] <= BATCH_FRAMES \
                and (padded or lengths[rows[0]] == lengths[i]):
            rows.append(i)
        else:
            batches.append([i])
    return batches


def _react(generator: ReactionGenerator, tokenizer: FaceTokenizer, batch: list, frames: int | None, inputs: str,
           samples: int, sampling: Sampling, seeds: list[int], bar: tqdm, personal: bool = False
           ) -> tuple[np.ndarray, np.ndarray]:
    """Faces and emotions (clips, K, T, ...) for a batch of pairs, each speaker cut to `frames`
    (None: whole, all of one length) or padded to it by repeating its last frame (online: never
    seen by the frames before), hearing the input set `inputs`; personal: each listener's
    personality given."""
    with_face, with_emotion, read = uses(inputs)

    def stacked(arrays: list[np.ndarray]) -> np.ndarray:
        return np.stack([np.pad(x[:frames], [(0, (frames or len(x)) - len(x[:frames]))] + [(0, 0)] * (x.ndim - 1),
                                mode="edge") for x in arrays])

    face, emotion, _ = generate_clips(
        generator, tokenizer, stacked([p.speaker_audio for p in batch]),
        stacked([p.speaker_face for p in batch]) if with_face else None,
        stacked([p.speaker_emotion for p in batch]) if with_emotion else None,
        samples, sampling, seeds, read_emotion=read, on_frame=lambda: bar.update(len(batch)),
        personality=[p.listener_personality for p in batch] if personal else None)
    return face, emotion
