"""Chunked prediction: the listener reads its own tokens at chunk starts only, in training and live."""
import numpy as np
import pytest
import torch

from facereact.data.errors import UsageError
from facereact.generator.data import TokenizedPair
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession
from facereact.generator.training import GeneratorTask, GeneratorTraining, chunk_masked
from facereact.layout import EMOTION_DIM, FACE_DIM

from test_generator import models, speaker

PLAIN = Sampling(guidance=1.0, temperature=1.0)


def chunked(chunk: int) -> tuple[ReactionGenerator, object]:
    generator, tokenizer = models()
    generator.config.chunk = chunk
    return generator, tokenizer


def test_the_mask_leaves_chunk_starts_only() -> None:
    assert chunk_masked(9, 3, 0).tolist() == [False, True, True] * 3
    assert chunk_masked(6, 3, 2).tolist() == [True, False, True, True, False, True]
    assert not chunk_masked(5, 1, 0).any()


def test_training_windows_mask_every_frame_inside_a_chunk() -> None:
    generator, _ = chunked(4)
    rng, t = np.random.default_rng(1), 32
    pair = TokenizedPair(*(x.astype(np.float32) for x in speaker(t)), rng.integers(0, 1000, t),
                         rng.integers(0, 1000, t), np.zeros((t, FACE_DIM), np.float32),
                         np.zeros((t, EMOTION_DIM), np.float32))
    task = GeneratorTask(generator, [pair], [], GeneratorTraining(window=t, listener_dropout=0.0))
    for seed in range(4):
        listener_in = task.make_batch([0], [seed], torch.device("cpu"))[4][0].numpy()
        read = np.flatnonzero(listener_in != generator.mask)
        assert len(read) == t // 4 and np.all(np.diff(read) == 4)  # one phase, every fourth frame


def test_streaming_states_equal_the_chunk_masked_forward(monkeypatch) -> None:
    generator, tokenizer = chunked(3)
    t = 14
    audio, face, emotion = speaker(t)
    states = []
    sample = generator.head.sample
    monkeypatch.setattr(generator.head, "sample", lambda h, *a, **k: states.append(h) or sample(h, *a, **k))
    session = StreamingSession(generator, tokenizer, samples=2, sampling=PLAIN, seed=5)
    tokens = np.stack([session.step_features(audio[i], face[i], emotion[i]).tokens for i in range(t)], 1)
    # the same frames in parallel: each reaction's own tokens as input, MASK inside chunks
    listener_in = np.concatenate([np.full((2, 1), generator.bos), tokens[:, :-1]], 1)
    listener_in[:, chunk_masked(t, 3, 0)] = generator.mask
    x = [torch.from_numpy(np.repeat(v[None], 2, 0)) for v in (audio, face, emotion)]
    with torch.no_grad():
        speaker_tokens = tokenizer.encode(x[1])
        parallel = generator(*x, speaker_tokens, torch.from_numpy(listener_in)).listener
    torch.testing.assert_close(torch.stack(states, 1), parallel, atol=1e-5, rtol=1e-5)


def test_inside_a_chunk_the_listener_past_does_not_matter() -> None:
    generator, tokenizer = chunked(3)
    audio, face, emotion = speaker(8)
    a, b = (StreamingSession(generator, tokenizer, samples=4, sampling=PLAIN, seed=2) for _ in range(2))
    for i in range(4):  # frames 0-3; frame 4 is inside the chunk that started at 3
        a.step_features(audio[i], face[i], emotion[i])
        b.step_features(audio[i], face[i], emotion[i])
    b.previous = (b.previous + 7) % generator.config.vocab
    np.testing.assert_array_equal(a.step_features(audio[4], face[4], emotion[4]).tokens,
                                  b.step_features(audio[4], face[4], emotion[4]).tokens)


def test_a_chunk_below_one_frame_is_refused() -> None:
    with pytest.raises(UsageError, match="chunk"):
        GeneratorConfig(chunk=0)
