"""Conversations merged into one batch keep their own frames and their own random streams."""
import numpy as np
import pytest

from facereact.generator.cohort import merge, take
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession

from tests.generator.test_generator import models, speaker

GUIDED = Sampling(temperature=0.9, guidance=2.0)


def _solo(generator, tokenizer, seed: int, audio, face, emotion, frames: int, read: bool = False):
    session = StreamingSession(generator, tokenizer, samples=3, sampling=GUIDED, seed=seed, read_emotion=read)
    return session, [session.step_features(audio[t], None if face is None else face[t],
                                           None if emotion is None else emotion[t]) for t in range(frames)]


def test_merged_conversations_match_their_solo_runs_and_split_apart_again() -> None:
    generator, tokenizer = models()
    t = 60
    inputs = [speaker(t, seed=s) for s in range(3)]
    # conversation 0 hears everything, 1 audio and face, 2 audio alone: one batch of mixed input sets
    kinds = [(a, f, e) for a, f, e in [inputs[0], (*inputs[1][:2], None), (inputs[2][0], None, None)]]
    solo = [_solo(generator, tokenizer, 10 + i, *kind, t) for i, kind in enumerate(kinds)]
    # they join at different ages: 20 frames (bands full), 5 and 1 (bands still filling; the tiny
    # model's bands are 13 frames, the emotion reader's 25)
    ages = [20, 5, 1]
    live = [_solo(generator, tokenizer, 10 + i, *kind, age)[0] for i, (kind, age) in enumerate(zip(kinds, ages))]
    batch = merge(live)
    assert batch.clips == 3 and batch.seeds == [10, 11, 12]
    steps = [age for age in ages]
    for n in range(30):
        audio = np.stack([k[0][s] for k, s in zip(kinds, steps)])
        face = np.stack([kinds[0][1][steps[0]], kinds[1][1][steps[1]], np.zeros_like(kinds[0][1][0])])
        emotion = np.stack([kinds[0][2][steps[0]]] * 3)
        frame = batch.step_clips(audio, face, emotion, face_on=np.array([True, True, False]),
                                 emotion_on=np.array([True, False, False]))
        for i in range(3):  # each conversation: its solo tokens, drawn from its own generator
            np.testing.assert_array_equal(frame.tokens.reshape(3, 3)[i], solo[i][1][steps[i]].tokens)
            np.testing.assert_allclose(frame.face.reshape(3, 3, -1)[i], solo[i][1][steps[i]].face, atol=1e-5)
        steps = [s + 1 for s in steps]
    batch = take(batch, [0, 2])  # conversation 1 leaves; the others go on unchanged
    kinds, solo, steps = [kinds[0], kinds[2]], [solo[0], solo[2]], [steps[0], steps[2]]
    assert batch.clips == 2
    for n in range(5):
        audio = np.stack([k[0][s] for k, s in zip(kinds, steps)])
        face = np.stack([kinds[0][1][steps[0]], np.zeros_like(kinds[0][1][0])])
        frame = batch.step_clips(audio, face, np.stack([kinds[0][2][steps[0]]] * 2),
                                 face_on=np.array([True, False]), emotion_on=np.array([True, False]))
        for i in range(2):
            np.testing.assert_array_equal(frame.tokens.reshape(2, 3)[i], solo[i][1][steps[i]].tokens)
        steps = [s + 1 for s in steps]


def test_only_started_sessions_of_the_same_models_and_settings_merge() -> None:
    generator, tokenizer = models()
    audio, face, emotion = speaker(5)
    young = _solo(generator, tokenizer, 0, audio, face, emotion, 5)[0]
    new = StreamingSession(generator, tokenizer, samples=3, sampling=GUIDED)
    with pytest.raises(ValueError, match="stepped a frame"):
        merge([young, new])
    other = StreamingSession(generator, tokenizer, samples=2, sampling=GUIDED)
    with pytest.raises(ValueError, match="different K"):
        merge([young, other])
    with pytest.raises(ValueError, match="indices below 1"):
        take(young, [1])
