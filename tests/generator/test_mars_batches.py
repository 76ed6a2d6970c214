"""MARS clips of many lengths share a batch when the generator is online: padded to the longest and
cut after, each clip's reactions are what it would get alone."""
from dataclasses import replace

import numpy as np
import pytest

from facereact.generator import generate
from facereact.generator.generate import generate_mars_pairs, mars_batches
from facereact.generator.sampling import Sampling
from tests.generator.test_generator import models, token_pair


def test_online_clips_batch_by_sorted_length_within_the_frame_budget(monkeypatch) -> None:
    assert mars_batches([30, 10, 20, 10], padded=True) == [[1, 3, 2, 0]]
    assert mars_batches([30, 10, 20, 10], padded=False) == [[1, 3], [2], [0]]  # offline: one length a batch
    monkeypatch.setattr(generate, "BATCH_FRAMES", 60)
    assert mars_batches([30, 10, 20, 10], padded=True) == [[1, 3, 2], [0]]  # 4 x 30 frames would be 120
    monkeypatch.setattr(generate, "BATCH_CLIPS", 2)
    assert mars_batches([5, 5, 5], padded=False) == [[0, 1], [2]]


@pytest.mark.parametrize("offline", [False, True])
def test_a_clip_reacts_as_it_would_alone(offline: bool) -> None:
    generator, tokenizer = models(offline)
    pairs = [replace(token_pair(t, seed), name=f"clip{seed}") for seed, t in enumerate((37, 22, 30, 22))]
    how = Sampling(guidance=2.0)
    faces: dict = {}
    together = generate_mars_pairs(generator, tokenizer, pairs, 3, how, 5, progress=False, faces=faces)
    for i, pair in enumerate(pairs):
        alone_faces: dict = {}
        alone = generate_mars_pairs(generator, tokenizer, [pair], 3, how, 5 + i, progress=False, faces=alone_faces)
        assert together[pair.name].shape == (3, len(pair.speaker_audio), 25)
        np.testing.assert_allclose(together[pair.name], alone[pair.name], atol=1e-5)
        np.testing.assert_allclose(faces[pair.name], alone_faces[pair.name], atol=1e-5)
    # cut to its first frames: the first frames of the whole clip's reactions
    cut = generate_mars_pairs(generator, tokenizer, pairs, 3, how, 5, progress=False, frames=25)
    for pair in pairs:
        assert cut[pair.name].shape[1] == min(25, len(pair.speaker_audio))
        if not offline:  # offline, frame 24 of a cut clip sees no future beyond it
            np.testing.assert_allclose(cut[pair.name], together[pair.name][:, :25], atol=1e-5)
