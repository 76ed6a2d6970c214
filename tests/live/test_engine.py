"""The engine steps conversations of different ages in one batch; each one's frames are its solo frames."""
import numpy as np

from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession
from facereact.live.engine import ReactionEngine, SpeakerFrame

from tests.generator.test_generator import models, speaker

GUIDED = Sampling(temperature=0.9, guidance=2.0)


def test_conversations_joining_pausing_and_leaving_keep_their_solo_frames() -> None:
    generator, tokenizer = models()
    engine = ReactionEngine(generator, tokenizer, samples=2, sampling=GUIDED)
    streams = {seed: speaker(40, seed) for seed in (1, 2, 3)}
    solo = {seed: StreamingSession(generator, tokenizer, samples=2, sampling=GUIDED, seed=seed) for seed in streams}
    ids, steps, got, want = {}, {}, {}, {}
    first = None
    for tick in range(30):
        if tick in (0, 4, 9):  # a conversation opens at ticks 0, 4 and 9
            seed = {0: 1, 4: 2, 9: 3}[tick]
            ids[seed], steps[seed] = engine.open(seed), 0
        for seed, cid in ids.items():
            if seed == 2 and tick in (12, 13):  # conversation 2 sends nothing for two ticks
                continue
            audio, face, emotion = streams[seed]
            t = steps[seed]
            with_face = seed != 3  # conversation 3 is audio only
            engine.submit(cid, SpeakerFrame(audio[t], face[t] if with_face else None,
                                            emotion[t] if seed == 1 else None))
            want.setdefault(seed, []).append(solo[seed].step_features(
                audio[t], face[t] if with_face else None, emotion[t] if seed == 1 else None).tokens)
            steps[seed] += 1
        for cid, frame in engine.tick().items():
            seed = next(s for s, c in ids.items() if c == cid)
            got.setdefault(seed, []).append(frame.tokens)
        if tick == 20:  # conversation 1 leaves
            first = ids.pop(1)
            engine.close(first)
    for seed in (1, 2, 3):
        np.testing.assert_array_equal(np.array(got[seed]), np.array(want[seed]))
    assert sorted(engine.members) == sorted(ids.values()) and first not in engine.conversations
