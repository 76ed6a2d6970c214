import numpy as np
import pytest

from facereact.baselines.rule_based import RULE_BASED, TrainStats, rule_based
from facereact.data.eval_set import EvalSet


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return EvalSet(rng.random((3, 20, 25)), rng.random((3, 20, 58)), rng.random((3, 20, 25)), rng.random((3, 20, 58)))


@pytest.fixture
def stats():
    rng = np.random.default_rng(1)
    return TrainStats.from_sequences(rng.random((5, 20, 25)), rng.random((5, 20, 58)))


def test_each_baseline_follows_its_definition(data, stats) -> None:
    gt = rule_based("GroundTruth", data, stats, k=4)
    assert gt.emotion.shape == (3, 4, 20, 25) and np.array_equal(gt.emotion[:, 2], data.listener_emotion)
    mime = rule_based("Mime", data, stats, k=4)
    assert np.array_equal(mime.emotion[:, 1], data.speaker_emotion) and np.array_equal(mime.face[:, 3], data.speaker_face)
    mean_seq = rule_based("MeanSeq", data, stats, k=4)
    assert np.allclose(mean_seq.emotion[2, 0], stats.emotion_per_frame)
    assert not np.allclose(mean_seq.emotion[0, 0, 0], mean_seq.emotion[0, 0, 1])  # varies over frames
    mean_fr = rule_based("MeanFr", data, stats, k=4)
    assert np.allclose(mean_fr.emotion[1, 2], stats.emotion_per_frame.mean(0))  # one vector at every frame
    rand = rule_based("Random", data, stats, k=4, seed=3)
    assert rand.emotion.min() >= 0 and rand.emotion.max() < 1 and abs(rand.emotion.mean() - 0.5) < 0.05
    assert not np.array_equal(rand.emotion[:, 0], rand.emotion[:, 1])  # samples differ
    assert np.array_equal(rand.emotion, rule_based("Random", data, stats, k=4, seed=3).emotion)


def test_unknown_name(data, stats) -> None:
    with pytest.raises(ValueError, match="unknown baseline 'Nope'"):
        rule_based("Nope", data, stats)
    assert len(RULE_BASED) == 5
