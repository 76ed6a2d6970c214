"""Conversations merged into one batch keep their own frames and their own random streams."""
import numpy as np
import pytest

from facereact.generator.cohort import merge, take, warm_frames
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession
from facereact.tokenizer.emotion import MOTION_HISTORY

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
    warm = warm_frames(solo[0][0])
    assert warm == max(generator.config.context + 1, MOTION_HISTORY + 1) < t - 20

    live = [_solo(generator, tokenizer, 10 + i, *kind, warm)[0] for i, kind in enumerate(kinds)]
    batch = merge(live)
    assert batch.clips == 3 and batch.seeds == [10, 11, 12]
    for step in range(warm, t):
        audio = np.stack([k[0][step] for k in kinds])
        face = np.stack([kinds[0][1][step], kinds[1][1][step], np.zeros_like(kinds[0][1][step])])
        emotion = np.stack([kinds[0][2][step]] * 3)
        frame = batch.step_clips(audio, face, emotion, face_on=np.array([True, True, False]),
                                 emotion_on=np.array([True, False, False]))
        tokens = frame.tokens.reshape(3, 3)
        for i in range(3):  # each conversation: its solo tokens, drawn from its own generator
            np.testing.assert_array_equal(tokens[i], solo[i][1][step].tokens)
            np.testing.assert_allclose(frame.face.reshape(3, 3, -1)[i], solo[i][1][step].face, atol=1e-5)
        if step == warm + 10:  # conversation 1 leaves; the others go on unchanged
            batch = take(batch, [0, 2])
            kinds, solo = [kinds[0], kinds[2]], [solo[0], solo[2]]
            break
    assert batch.clips == 2
    for step in range(warm + 11, t):
        audio = np.stack([k[0][step] for k in kinds])
        face = np.stack([kinds[0][1][step], np.zeros_like(kinds[0][1][step])])
        frame = batch.step_clips(audio, face, np.stack([kinds[0][2][step]] * 2),
                                 face_on=np.array([True, False]), emotion_on=np.array([True, False]))
        for i in range(2):
            np.testing.assert_array_equal(frame.tokens.reshape(2, 3)[i], solo[i][1][step].tokens)


def test_only_warm_sessions_of_the_same_models_and_settings_merge() -> None:
    generator, tokenizer = models()
    audio, face, emotion = speaker(5)
    young = _solo(generator, tokenizer, 0, audio, face, emotion, 5)[0]
    with pytest.raises(ValueError, match="bands are full"):
        merge([young, young])
    other = StreamingSession(generator, tokenizer, samples=2, sampling=GUIDED)
    with pytest.raises(ValueError, match="different K"):
        merge([young, other])
    with pytest.raises(ValueError, match="indices below 1"):
        take(young, [1])
