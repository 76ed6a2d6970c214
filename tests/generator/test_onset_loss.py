"""The onset-weighted token loss: frames where the listener's emotion moves count more."""
import numpy as np
import pytest
import torch

from facereact.errors import UsageError
from facereact.generator.data import TokenizedPair
from facereact.generator.training import GeneratorTask, GeneratorTraining, motion_onset_weights, onset_weights
from facereact.layout import EMOTION_DIM, FACE_DIM

from test_generator import models, speaker


def test_steady_emotion_weighs_every_frame_alike() -> None:
    emotion = torch.full((2, 20, EMOTION_DIM), 0.3)
    torch.testing.assert_close(onset_weights(emotion, 2.0, 3), torch.ones(2, 20))


def test_a_change_weighs_the_frames_that_see_it() -> None:
    emotion = torch.zeros(1, 20, EMOTION_DIM)
    emotion[0, 10:, :4] = 1.0  # a reaction starts at frame 10
    w = onset_weights(emotion, 2.0, 3)[0]
    # frames 10-12 differ from 3 frames before; change 4 there, mean change 12/20 = 0.6
    raised = 1 + 2.0 * 4 / 0.6
    expected = torch.ones(20)
    expected[10:13] = raised
    torch.testing.assert_close(w, expected / expected.mean())
    assert w.mean().item() == pytest.approx(1.0)


def test_a_region_starting_to_move_weighs_the_frames_after_it() -> None:
    motion = torch.zeros(2, 16, 3)
    motion[0, 5:9, 0] = 1.0  # region 0 moves from frame 5
    motion[0, 6:12, 2] = 1.0  # region 2 from frame 6: its frames overlap region 0's
    motion[1, 0:16, 1] = 1.0  # moving throughout: no start inside the window
    w = motion_onset_weights(motion, 2.0, 3)
    expected = torch.ones(16)
    expected[5:9] = 3.0  # frames 5-7 after the first start, 6-8 after the second
    torch.testing.assert_close(w[0], expected / expected.mean())
    torch.testing.assert_close(w[1], torch.ones(16))  # a motion already going is not an onset
    assert w.mean(1).tolist() == pytest.approx([1.0, 1.0])


def test_the_task_loss_is_the_weighted_mean_of_the_token_loss() -> None:
    generator, _ = models()
    generator.eval()  # no dropout: two forward passes give the same nll
    rng, t = np.random.default_rng(3), 40
    emotion = np.zeros((t, EMOTION_DIM), np.float32)
    emotion[25:] = 0.5
    pair = TokenizedPair(*(x.astype(np.float32) for x in speaker(t)), rng.integers(0, 1000, t),
                         rng.integers(0, 1000, t), np.zeros((t, FACE_DIM), np.float32), emotion)
    plain = GeneratorTask(generator, [pair], [], GeneratorTraining(window=t, aux_emotion_weight=0.0,
                                                                  aux_motion_weight=0.0))
    weighted = GeneratorTask(generator, [pair], [], GeneratorTraining(window=t, aux_emotion_weight=0.0, aux_motion_weight=0.0,
                                                                     onset_weight=3.0, onset_lag=2))
    batch = plain.make_batch([0], [5], torch.device("cpu"))
    with torch.no_grad():
        _, plain_logs = plain.loss(generator, batch)
        _, weighted_logs = weighted.loss(generator, batch)
        total, _ = weighted.loss(generator, batch)
        audio, face, emo, speaker_tokens, listener_in, target, listener_emotion, _, *on = batch
        nll = generator(audio, face, emo, speaker_tokens, listener_in, target, speaker_on=on[0],
                        face_on=on[1], emotion_on=on[2]).nll
    w = onset_weights(listener_emotion, 3.0, 2)
    assert plain_logs["ce"] == pytest.approx(nll.mean().item(), rel=1e-5) and "onset_ce" not in plain_logs
    assert weighted_logs["onset_ce"] == pytest.approx((nll * w).mean().item(), rel=1e-5)
    assert weighted_logs["onset_ce"] != pytest.approx(plain_logs["ce"], rel=1e-3)  # the weights changed it
    assert weighted_logs["ce"] == pytest.approx(plain_logs["ce"], rel=1e-6)  # still logged plain
    # the loss optimised is the weighted one (no auxiliary term here)
    assert total.item() == pytest.approx(weighted_logs["onset_ce"], rel=1e-5)


def test_the_task_weighs_its_token_loss_where_the_listener_starts_moving() -> None:
    generator, _ = models()
    generator.eval()
    rng, t = np.random.default_rng(4), 40
    pair = TokenizedPair(*(x.astype(np.float32) for x in speaker(t)), rng.integers(0, 1000, t),
                         rng.integers(0, 1000, t), np.zeros((t, FACE_DIM), np.float32),
                         np.zeros((t, EMOTION_DIM), np.float32))
    task = GeneratorTask(generator, [pair], [], GeneratorTraining(window=t, aux_emotion_weight=0.0,
                                                                 aux_motion_weight=0.0, motion_onset_weight=2.0))
    batch = list(task.make_batch([0], [5], torch.device("cpu")))
    batch[7] = torch.zeros_like(batch[7])
    batch[7][0, 20:30, 0] = 1.0  # the listener's first region starts moving at frame 20
    with torch.no_grad():
        total, logs = task.loss(generator, tuple(batch))
        audio, face, emo, speaker_tokens, listener_in, target, _, motion, *on = batch
        nll = generator(audio, face, emo, speaker_tokens, listener_in, target, speaker_on=on[0],
                        face_on=on[1], emotion_on=on[2]).nll
    w = motion_onset_weights(motion, 2.0, 6)
    assert w[0, 20:26].min() > w[0, :20].max()  # the onset's frames count more
    assert logs["onset_ce"] == pytest.approx((nll * w).mean().item(), rel=1e-5)
    assert total.item() == pytest.approx(logs["onset_ce"], rel=1e-5)


def test_a_lag_below_one_frame_is_refused() -> None:
    with pytest.raises(UsageError, match="onset_lag"):
        GeneratorTraining(onset_lag=0)
    with pytest.raises(UsageError, match="onset_weight"):
        GeneratorTraining(onset_weight=-1.0)
    with pytest.raises(UsageError, match="motion_onset_weight"):
        GeneratorTraining(motion_onset_weight=-1.0)
