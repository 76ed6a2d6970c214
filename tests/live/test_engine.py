"""The engine steps conversations of different ages in one batch; each one's frames are its solo frames."""
import numpy as np
import pytest

from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession
from facereact.live.engine import ReactionEngine, SpeakerFrame

from tests.generator.test_generator import models, speaker

GUIDED = Sampling(temperature=0.9, guidance=2.0)


# Conversation 2 pauses for two ticks, or for six: it stays in the batch, not stepped, and goes on
# where it was. With read_emotion its emotion is read off its face (a reader state left alone too).
@pytest.mark.parametrize("pause,read_emotion", [((12, 13), False), (tuple(range(12, 18)), True)])
def test_conversations_joining_pausing_and_leaving_keep_their_solo_frames(pause: tuple[int, ...],
                                                                          read_emotion: bool) -> None:
    generator, tokenizer = models()
    engine = ReactionEngine(generator, tokenizer, samples=2, sampling=GUIDED, read_emotion=read_emotion)
    streams = {seed: speaker(40, seed) for seed in (1, 2, 3)}
    solo = {seed: StreamingSession(generator, tokenizer, samples=2, sampling=GUIDED, seed=seed,
                                   read_emotion=read_emotion) for seed in streams}
    rounds = []  # whether conversation 2 was in the batch at each tick of its pause
    ids, steps, got, want = {}, {}, {}, {}
    first = None
    for tick in range(30):
        if tick in (0, 4, 9):  # a conversation opens at ticks 0, 4 and 9
            seed = {0: 1, 4: 2, 9: 3}[tick]
            ids[seed], steps[seed] = engine.open(seed), 0
        for seed, cid in ids.items():
            if seed == 2 and tick in pause:  # conversation 2 sends nothing
                continue
            audio, face, emotion = streams[seed]
            t = steps[seed]
            with_face = seed != 3  # conversation 3 is audio only
            engine.submit(cid, SpeakerFrame(audio[t], face[t] if with_face else None,
                                            emotion[t] if seed == 1 else None))
            frame = solo[seed].step_features(audio[t], face[t] if with_face else None,
                                             emotion[t] if seed == 1 else None)
            want.setdefault(seed, []).append((frame.tokens, frame.face))
            steps[seed] += 1
        frames = engine.tick()
        for cid, frame in frames.items():
            seed = next(s for s, c in ids.items() if c == cid)
            got.setdefault(seed, []).append(frame.tokens)
            np.testing.assert_allclose(frame.face, want[seed][-1][1], atol=1e-4)
        if tick in pause:
            rounds.append(ids[2] in engine.members and ids[2] not in frames)
        if tick == 20:  # conversation 1 leaves
            first = ids.pop(1)
            engine.close(first)
    for seed in (1, 2, 3):
        np.testing.assert_array_equal(np.array(got[seed]), np.array([tokens for tokens, _ in want[seed]]))
    assert rounds == [True] * len(pause)  # it stayed, never stepped: no frame came back for it
    assert sorted(engine.members) == sorted(ids.values()) and first not in engine.conversations


def test_a_newcomer_takes_a_free_slot_in_place_and_the_batch_shrinks_when_mostly_free() -> None:
    generator, tokenizer = models()
    engine = ReactionEngine(generator, tokenizer, samples=1, sampling=GUIDED, reserve=1)
    audio, _, _ = speaker(12, 0)
    ids = [engine.open(seed=i) for i in range(4)]
    solo = {i: StreamingSession(generator, tokenizer, samples=1, sampling=GUIDED, seed=i) for i in (3, 9)}
    frames_of = {ids[3]: 3}

    def tick(cids: list[int]) -> None:
        for cid in cids:
            engine.submit(cid, SpeakerFrame(audio[frames_of.get(cid, 0) % 12]))
        got = engine.tick()
        for cid, seed in ((ids[3], 3), (newcomer, 9)):
            if cid in got:
                want = solo[seed].step_features(audio[frames_of.get(cid, 0) % 12])
                np.testing.assert_array_equal(got[cid].tokens, want.tokens)
                np.testing.assert_allclose(got[cid].face, want.face, atol=1e-5)
        for cid in cids:
            frames_of[cid] = frames_of.get(cid, 0) + 1

    newcomer = -1
    for _ in range(3):
        tick(ids)
    engine.close(ids[0])  # one of four ended: its slot stays, free, not stepped
    assert engine.rows == [None, *ids[1:]] and engine.batch.clips == 4
    keys = engine.batch.state["generator"]["speaker"][0]["keys"]
    newcomer = engine.open(seed=9)
    frames_of[newcomer] = 0
    for _ in range(4):
        tick(ids[1:] + [newcomer])
    # it took the free slot, written into the same ring storage: nobody else's state was copied
    assert engine.rows == [newcomer, *ids[1:]] and engine.batch.state["generator"]["speaker"][0]["keys"] is keys
    for cid in (newcomer, ids[1], ids[2]):
        engine.close(cid)  # a quarter of the slots live: the batch shrinks to twice that
    assert engine.rows == [ids[3], None] and engine.batch.clips == 2
    for _ in range(3):
        tick([ids[3]])
    engine.close(ids[3])  # none left: the batch keeps its reserve of free slots
    assert engine.rows == [None] and engine.batch.clips == 1


def test_the_batch_grows_by_its_size_when_no_slot_is_free() -> None:
    generator, tokenizer = models()
    engine = ReactionEngine(generator, tokenizer, samples=2)
    audio, _, _ = speaker(3, 0)
    sizes = []
    for n in range(6):
        engine.open(seed=n)
        for other in engine.conversations:
            engine.submit(other, SpeakerFrame(audio[0]))
        assert set(engine.tick()) == set(engine.conversations)
        sizes.append((len(engine.members), engine.batch.clips))
    assert sizes == [(1, 4), (2, 4), (3, 4), (4, 4), (5, 8), (6, 8)]


def test_a_reserved_batch_takes_its_first_conversations_without_copying_anyone() -> None:
    generator, tokenizer = models()
    engine = ReactionEngine(generator, tokenizer, samples=1, reserve=6)
    audio, _, _ = speaker(3, 0)
    keys = None
    for n in range(6):
        engine.open(seed=n)
        for cid in engine.conversations:
            engine.submit(cid, SpeakerFrame(audio[0]))
        engine.tick()
        if keys is None:
            keys = engine.batch.state["generator"]["speaker"][0]["keys"]
        assert engine.batch.clips == 6 and engine.batch.state["generator"]["speaker"][0]["keys"] is keys
    with pytest.raises(ValueError, match="at least 1 slot"):
        ReactionEngine(generator, tokenizer, reserve=0)


def test_a_prepared_batch_starts_its_first_conversations_in_place_as_their_solo_runs() -> None:
    generator, tokenizer = models()
    engine = ReactionEngine(generator, tokenizer, samples=2, sampling=GUIDED, reserve=4)
    engine.prepare()
    keys = engine.batch.state["generator"]["speaker"][0]["keys"]
    assert engine.rows == [None] * 4 and engine.members == []
    audio, _, _ = speaker(8, 0)
    solo = {seed: StreamingSession(generator, tokenizer, samples=2, sampling=GUIDED, seed=seed) for seed in (7, 8, 9)}
    ids, age = {}, {}
    for t in range(8):  # 7 comes first, 8 a frame later, 9 three frames later
        for seed, start in ((7, 0), (8, 1), (9, 3)):
            if t == start:
                ids[seed], age[seed] = engine.open(seed=seed), 0
        for seed, cid in ids.items():
            engine.submit(cid, SpeakerFrame(audio[age[seed]]))
        got = engine.tick()
        for seed, cid in ids.items():
            want = solo[seed].step_features(audio[age[seed]])
            np.testing.assert_array_equal(got[cid].tokens, want.tokens)
            np.testing.assert_allclose(got[cid].face, want.face, atol=1e-5)
            age[seed] += 1
        assert engine.batch.clips == 4 and engine.batch.state["generator"]["speaker"][0]["keys"] is keys  # nothing copied
    assert sorted(engine.members) == sorted(ids.values())
