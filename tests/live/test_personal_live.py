"""A personal listener live: the hello names who listens, the frames are that listener's, two
conversations of different listeners share the server's batch, and a generic server or a bad
personality is refused by name at the hello."""
import asyncio
import json
import urllib.request

import numpy as np

from facereact.data.audio import frame_features
from facereact.generator.session import StreamingSession
from facereact.layout import BLENDSHAPE_NAMES
from facereact.live.client import stream_recording
from facereact.live.server import ReactionServer

from tests.generator.test_generator import models
from tests.generator.test_personal import EXPRESSIVE, RESERVED, personal_models
from tests.live.test_server import FAST, GUIDED, RATE, _expect_close, quantised, recording, running


def test_each_conversation_reacts_as_its_own_listener() -> None:
    generator, tokenizer = personal_models()
    frames = 30
    audio = recording(frames, 1)

    async def main():
        server = ReactionServer(generator, tokenizer, GUIDED, limits=FAST)
        async with running(server) as url:
            page = await asyncio.to_thread(lambda: urllib.request.urlopen(url.replace("ws:", "http:") + "/").read())
            together = await asyncio.gather(*(stream_recording(url, audio, RATE, samples=1, seed=4, realtime=False,
                                                               personality=who)
                                              for who in (RESERVED.tolist(), EXPRESSIVE.tolist(), None)))
            await _expect_close(url, json.dumps({"type": "hello", "personality": [0.5, 2.0, 0.5, 0.5, 0.5]}), 1008,
                                "lie in [0, 1]")
        return page.decode(), together

    page, together = asyncio.run(main())
    assert "const PERSONAL = true;" in page
    features = frame_features(quantised(audio), RATE, frames)
    faces = []
    for (received, _), who in zip(together, (RESERVED, EXPRESSIVE, None)):
        solo = StreamingSession(generator, tokenizer, samples=1, sampling=GUIDED, seed=4, read_emotion=True,
                                personality=who)
        want = [solo.step_features(features[i]) for i in range(frames)]
        got = np.array([list(f["blendshapes"].values()) for f in received])
        np.testing.assert_allclose(got, np.array([w.face[0, :len(BLENDSHAPE_NAMES)] for w in want]), atol=1e-4)
        faces.append(got)
    assert np.abs(faces[0] - faces[1]).max() > 1e-2  # the same speaker, the same seed: other listeners


def test_a_generic_server_refuses_a_personality_and_hides_the_control() -> None:
    generator, tokenizer = models()

    async def main():
        async with running(ReactionServer(generator, tokenizer, GUIDED, limits=FAST)) as url:
            page = await asyncio.to_thread(lambda: urllib.request.urlopen(url.replace("ws:", "http:") + "/").read())
            await _expect_close(url, json.dumps({"type": "hello", "personality": RESERVED.tolist()}), 1008,
                                "listener is generic")
        return page.decode()

    assert "const PERSONAL = false;" in asyncio.run(main())
