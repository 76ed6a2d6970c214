"""Conversations merged into one batch keep their own frames and their own random streams."""
import numpy as np
import pytest
import torch

from facereact.generator.cohort import merge, place, restart, take
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession

from tests.generator.test_generator import models, speaker

# With a guidance ramp longer than the younger conversations' ages, so each conversation's guidance
# must follow its own age (session.ages) for its frames to equal its solo run's.
GUIDED = Sampling(temperature=0.9, guidance=2.0, guidance_ramp=8)


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


def _past(session: StreamingSession, conversation: int) -> list[np.ndarray]:
    """One conversation's past: every ring's filled frames in time order (each of its rows), and
    its rows of every other tensor of the session's table (convolution pasts, the emotion
    reader's, the last tokens, the age, the turn filter's)."""
    from facereact.nn import ring

    out = []
    def walk(state) -> None:
        if isinstance(state, list):
            for part in state:
                walk(part)
        elif isinstance(state, dict) and "frames" in state:  # a ring
            keep = state["keys"].shape[2]
            per = state["keys"].shape[0] // session.clips
            length = ring.span(state, keep).length
            for name in ("keys", "values"):
                ordered = ring.ordered(state, name, keep)
                for row in range(conversation * per, (conversation + 1) * per):
                    filled = min(int(state["frames"][row]), keep)
                    out.append(ordered[row].narrow(1, length - filled, filled).numpy().copy())
        elif isinstance(state, dict):
            for value in state.values():
                walk(value)
        elif isinstance(state, torch.Tensor):
            per = state.shape[0] // session.clips
            out.append(state[conversation * per:(conversation + 1) * per].numpy().copy())
    walk(session.state)
    return out


@pytest.mark.parametrize("frames", [3, 30])  # rings and the reader's window still filling, or full and turning
def test_a_conversation_left_out_of_steps_keeps_its_past_and_goes_on_as_its_solo_run(frames: int) -> None:
    generator, tokenizer = models()
    audio, face, _ = speaker(frames + 8, 0)
    seeds = [5, 6]
    solo = [_solo(generator, tokenizer, seed, audio, face, None, frames + 4, read=True)[1] for seed in seeds]
    session = StreamingSession(generator, tokenizer, samples=3, sampling=GUIDED, read_emotion=True, seeds=seeds)
    for t in range(frames):
        session.step_clips(audio[t:t + 1].repeat(2, 0), face[t:t + 1].repeat(2, 0))
    before, draw = _past(session, 1), session.rngs[1].get_state()
    for t in range(frames, frames + 2):  # conversation 1's frames are late: only 0 steps, twice
        got = session.step_clips(audio[t:t + 1], face[t:t + 1], active=np.array([0]))
        np.testing.assert_array_equal(got.tokens, solo[0][t].tokens)
        np.testing.assert_allclose(got.face, solo[0][t].face, atol=1e-5)
    for b, a in zip(before, _past(session, 1)):  # every frame of its past where it was, nothing new
        np.testing.assert_array_equal(a, b)
    assert torch.equal(session.rngs[1].get_state(), draw)
    # then both go on, 1 two frames behind (1 first, to show the rows' order is free): each its solo run
    for n in range(2):
        got = session.step_clips(np.stack([audio[frames + n], audio[frames + 2 + n]]),
                                 np.stack([face[frames + n], face[frames + 2 + n]]), active=np.array([1, 0]))
        for i, (c, t) in enumerate([(1, frames + n), (0, frames + 2 + n)]):
            np.testing.assert_array_equal(got.tokens[i * 3:(i + 1) * 3], solo[c][t].tokens)
            np.testing.assert_allclose(got.face[i * 3:(i + 1) * 3], solo[c][t].face, atol=1e-5)


def test_the_first_frame_steps_every_conversation() -> None:
    generator, tokenizer = models()
    session = StreamingSession(generator, tokenizer, samples=1, seeds=[0, 1])
    with pytest.raises(ValueError, match="first frame"):
        session.step_clips(np.zeros((1, generator.config.audio_dim), np.float32), active=np.array([0]))


@pytest.mark.parametrize("age", [1, 20])  # the newcomer's rings still filling, or full and turning
def test_a_conversation_placed_in_a_free_slot_goes_on_as_its_solo_run_and_leaves_the_others_alone(age: int) -> None:
    generator, tokenizer = models()
    audio, face, _ = speaker(60, 0)
    seeds = [5, 6, 7]
    solo = {seed: _solo(generator, tokenizer, seed, audio, face, None, 45, read=True)[1] for seed in (5, 7, 8)}
    batch = StreamingSession(generator, tokenizer, samples=3, sampling=GUIDED, read_emotion=True, seeds=seeds)
    for t in range(25):
        batch.step_clips(audio[t:t + 1].repeat(3, 0), face[t:t + 1].repeat(3, 0))
    newcomer = _solo(generator, tokenizer, 8, audio, face, None, age, read=True)[0]
    before = [_past(batch, c) for c in (0, 2)]
    keys = batch.state["generator"]["speaker"][0]["keys"]
    assert place(batch, newcomer, [1]) is batch  # 6 ended; 8 takes its slot
    assert batch.seeds == [5, 8, 7] and batch.state["generator"]["speaker"][0]["keys"] is keys
    for b, a in zip(before, [_past(batch, c) for c in (0, 2)]):
        for x, y in zip(b, a):
            np.testing.assert_array_equal(x, y)
    for x, y in zip(_past(newcomer, 0), _past(batch, 1)):
        np.testing.assert_array_equal(x, y)
    for n in range(15):  # 5 and 7 at frame 25 + n, 8 at age + n: each its solo run, from its own generator
        times = [25 + n, age + n, 25 + n]
        got = batch.step_clips(audio[times], face[times])
        for i, (seed, t) in enumerate(zip((5, 8, 7), times)):
            np.testing.assert_array_equal(got.tokens[i * 3:(i + 1) * 3], solo[seed][t].tokens)
            np.testing.assert_allclose(got.face[i * 3:(i + 1) * 3], solo[seed][t].face, atol=1e-5)


@pytest.mark.parametrize("read", [True, False])
def test_a_conversation_restarted_in_a_slot_is_its_solo_run_from_its_first_frame(read: bool) -> None:
    generator, tokenizer = models()
    audio, face, _ = speaker(60, 0)
    solo = {seed: _solo(generator, tokenizer, seed, audio, face, None, 45, read=read)[1] for seed in (5, 7, 8, 9)}
    batch = StreamingSession(generator, tokenizer, samples=3, sampling=GUIDED, read_emotion=read, seeds=[5, 6, 7, 4])
    for t in range(25):  # the bands of 5, 6 and 7 full and turning
        batch.step_clips(audio[t:t + 1].repeat(4, 0), face[t:t + 1].repeat(4, 0))
    before = [_past(batch, c) for c in (0, 2)]
    keys = batch.state["generator"]["speaker"][0]["keys"]
    assert restart(batch, [1, 3], [8, 9]) is batch  # 6 and 4 ended; 8 and 9 begin in their slots
    assert batch.seeds == [5, 8, 7, 9] and batch.state["generator"]["speaker"][0]["keys"] is keys  # rings kept, in place
    for b, a in zip(before, [_past(batch, c) for c in (0, 2)]):
        for x, y in zip(b, a):
            np.testing.assert_array_equal(x, y)
    # 8 steps its first frame with 5 and 7 (9 is late: not stepped), then all go on, 9 a frame behind
    plan = [([0, 1, 2], [25, 0, 25])] + [([0, 1, 2, 3], [26 + n, 1 + n, 26 + n, n]) for n in range(14)]
    for active, times in plan:
        got = batch.step_clips(audio[times], face[times], active=np.array(active))
        for i, (c, t) in enumerate(zip(active, times)):
            seed = batch.seeds[c]
            np.testing.assert_array_equal(got.tokens[i * 3:(i + 1) * 3], solo[seed][t].tokens)
            np.testing.assert_allclose(got.face[i * 3:(i + 1) * 3], solo[seed][t].face, atol=1e-5)
            np.testing.assert_allclose(got.emotion[i * 3:(i + 1) * 3], solo[seed][t].emotion, atol=1e-5)


def test_restart_wants_a_started_batch_and_distinct_slots_in_range() -> None:
    generator, tokenizer = models()
    audio, face, emotion = speaker(3)
    with pytest.raises(ValueError, match="stepped a frame"):
        restart(StreamingSession(generator, tokenizer, samples=3, sampling=GUIDED, seeds=[0, 1]), [0], [3])
    batch = _solo(generator, tokenizer, 0, audio, face, emotion, 2)[0]
    with pytest.raises(ValueError, match="distinct slots below 1"):
        restart(batch, [1], [3])
    with pytest.raises(ValueError, match="distinct slots"):
        restart(batch, [0, 0], [3, 4])


def test_place_wants_a_started_session_of_the_same_settings_and_free_slots_in_range() -> None:
    generator, tokenizer = models()
    audio, face, emotion = speaker(3)
    batch = _solo(generator, tokenizer, 0, audio, face, emotion, 2)[0]
    with pytest.raises(ValueError, match="stepped a frame"):
        place(batch, StreamingSession(generator, tokenizer, samples=3, sampling=GUIDED), [0])
    with pytest.raises(ValueError, match="different K"):
        place(batch, StreamingSession(generator, tokenizer, samples=2, sampling=GUIDED), [0])
    with pytest.raises(ValueError, match="distinct slots below 1"):
        place(batch, _solo(generator, tokenizer, 1, audio, face, emotion, 1)[0], [1])
