"""`facereact tokenize`: token files for every person clip of a split."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from facereact.data.corpus import ReactCorpus
from facereact.tokenizer.model import FaceTokenizer


@torch.no_grad()
def tokenize_split(tokenizer: FaceTokenizer, root: str | Path, split: str, out: str | Path,
                   progress: bool = True) -> int:
    """Write out/<split>/<site>/<session>/<person>/<clip>.npy (T,) tokens, int16 (int32 past 32767
    codes); returns the clip count."""
    corpus = ReactCorpus(root, split)
    clips = corpus.clips()
    dtype = np.int16 if tokenizer.vocab_size <= np.iinfo(np.int16).max else np.int32
    for clip in tqdm(clips, desc=f"tokenize {split}", disable=not progress):
        face, _ = corpus.load_person(clip)
        tokens = tokenizer.encode(torch.from_numpy(face)[None])[0].numpy().astype(dtype)
        target = Path(out) / split / f"{clip.path}.npy"
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, tokens)
    return len(clips)
