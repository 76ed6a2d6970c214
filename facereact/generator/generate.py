"""`facereact generate`: K reactions for every pair of a split, ready for `facereact evaluate`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from facereact.data.paths import provenance
from facereact.generator.data import load_tokenized_pairs
from facereact.generator.inputs import uses
from facereact.generator.model import ReactionGenerator
from facereact.generator.sampling import RECOMMENDED, Sampling
from facereact.generator.session import generate_clip
from facereact.layout import CLIP_FRAMES
from facereact.tokenizer.model import FaceTokenizer


def generate_split(generator: ReactionGenerator, tokenizer: FaceTokenizer, root: str | Path, split: str,
                   samples: int = 10, sampling: Sampling = RECOMMENDED, seed: int = 0, progress: bool = True,
                   inputs: str = "full", rows: int | None = None) -> dict[str, np.ndarray]:
    """pred (N, K, T, EMOTION_DIM) and pred_face (N, K, T, FACE_DIM) in the split's mirrored row order,
    T = the shortest clip's frames, at most the 750 the metrics score.

    Row k is seeded with seed + k, so any subset of rows can be regenerated identically (`rows`:
    only the first rows). `inputs` names what the speaker stream hears (generator/inputs.py). The
    split, its corpus fingerprint and the input set ride along, for `facereact evaluate` to check.
    """
    with_face, with_emotion, read = uses(inputs)
    pairs = load_tokenized_pairs(root, split, tokenizer, progress=progress)[:rows]
    t = min(CLIP_FRAMES, *(len(p.listener_tokens) for p in pairs))
    emotions, faces = [], []
    for k, pair in enumerate(tqdm(pairs, desc=f"generate {split}", disable=not progress)):
        face, emotion, _ = generate_clip(generator, tokenizer, pair.speaker_audio[:t],
                                         pair.speaker_face[:t] if with_face else None,
                                         pair.speaker_emotion[:t] if with_emotion else None, samples, sampling,
                                         seed + k, read_emotion=read)
        faces.append(face)
        emotions.append(emotion)
    return {"pred": np.stack(emotions).astype(np.float32), "pred_face": np.stack(faces).astype(np.float32),
            **provenance(root, split), "inputs": np.array(inputs)}
