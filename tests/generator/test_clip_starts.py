"""Generator windows at a clip's start: the listener begins from BOS there, as every reaction does."""
import numpy as np
import pytest
import torch

from facereact.generator.data import TokenizedPair
from facereact.generator.training import GeneratorTask, GeneratorTraining
from facereact.layout import EMOTION_DIM, FACE_DIM
from facereact.train.windows import draw_window

from test_generator import models, speaker


def task(share: float) -> tuple[GeneratorTask, TokenizedPair]:
    generator, _ = models()
    rng, t = np.random.default_rng(1), 300
    pair = TokenizedPair(*(x.astype(np.float32) for x in speaker(t)), rng.integers(0, 1000, t),
                         rng.integers(0, 1000, t), np.zeros((t, FACE_DIM), np.float32),
                         np.zeros((t, EMOTION_DIM), np.float32))
    return GeneratorTask(generator, [pair], [], GeneratorTraining(window=32, listener_dropout=0.0,
                                                                  clip_starts=share)), pair


@pytest.mark.parametrize("share", [0.0, 0.3])
def test_a_share_of_windows_starts_from_bos(share: float) -> None:
    t, pair = task(share)
    batch = t.make_batch([0] * 200, list(range(200)), torch.device("cpu"))
    listener_in, target = batch[4], batch[5]
    from_bos = listener_in[:, 0] == t.model.bos
    assert (from_bos.float().mean().item() < 0.02) if share == 0 else (0.2 < from_bos.float().mean().item() < 0.4)
    # a window from BOS is the clip's first frames, its targets the listener's first tokens
    assert torch.equal(target[from_bos], torch.from_numpy(pair.listener_tokens[:32]).long().expand(int(from_bos.sum()), -1))


def test_off_draws_the_same_windows_as_before() -> None:
    """clip_starts = 0 takes nothing extra from a window's generator: the default recipe's windows,
    masks and input choices are the ones drawn before the option existed."""
    off, pair = task(0.0)
    seeds = list(range(40))
    batch = off.make_batch([0] * len(seeds), seeds, torch.device("cpu"))
    for i, seed in enumerate(seeds):
        window, rng = draw_window(seed, len(pair.listener_tokens), 32)
        rng.random(32)  # the listener-dropout draw
        speaker_on = rng.random() >= off.settings.speaker_dropout
        assert torch.equal(batch[5][i], torch.from_numpy(pair.listener_tokens[window]).long())
        assert batch[7][i].item() == float(speaker_on)
