"""The speaker's face encoder and emotion reader run on the frames with a face only: a conversation
without a camera never pays for them, and a face that comes back starts
their streams over, as the first frame of a clip."""
from contextlib import contextmanager

import numpy as np
import torch

from facereact.generator.session import StreamingSession

from tests.generator.test_generator import models, speaker


@contextmanager
def recording(session: StreamingSession):
    """Within: the session's encoder and reader steps keep their outputs in the two lists yielded."""
    tokenizer, tokens, readings = session.tokenizer, [], []
    encode, read = tokenizer.encode_step, tokenizer.emotion_reader.step

    def encode_step(face, state, rows=None):
        out = encode(face, state, rows)
        tokens.append(out.clone())
        return out

    def reader_step(face, state, rows=None):
        out = read(face, state, rows)
        if state is not session.state["decoder"]["motion"]:  # the speaker's face, not the decoded listener's
            readings.append(out.clone())
        return out

    tokenizer.encode_step, tokenizer.emotion_reader.step = encode_step, reader_step
    try:
        yield tokens, readings
    finally:
        del tokenizer.encode_step, tokenizer.emotion_reader.step


def test_a_face_that_comes_back_starts_the_encoder_and_reader_over_as_a_clip_would() -> None:
    generator, tokenizer = models()
    audio, face, _ = speaker(30, 1)
    session = StreamingSession(generator, tokenizer, samples=2, read_emotion=True, seed=3)
    with recording(session) as (tokens, readings):
        for t in range(30):  # a face for 10 frames, lost for 5, back for 15
            session.step_features(audio[t], face[t] if not 10 <= t < 15 else None)
    assert len(tokens) == len(readings) == 25  # no frame without a face was encoded or read
    with torch.no_grad():
        back = torch.from_numpy(face[None, 15:])
        want_tokens = tokenizer.encode(back)[0]
        want_reading = tokenizer.emotion_reader(tokenizer.normalize(back))[0]
        first = torch.from_numpy(face[None, :10])
        want_first = tokenizer.encode(first)[0]
    np.testing.assert_array_equal(torch.cat(tokens[:10]).numpy(), want_first.numpy())
    np.testing.assert_array_equal(torch.cat(tokens[10:]).numpy(), want_tokens.numpy())
    np.testing.assert_allclose(torch.cat(readings[10:])[:, 0].numpy(), want_reading.numpy(), atol=1e-5)


def test_a_conversation_without_a_camera_never_runs_the_face_encoder() -> None:
    generator, tokenizer = models()
    audio, _, _ = speaker(12, 2)
    session = StreamingSession(generator, tokenizer, samples=1, read_emotion=True, seed=0)
    with recording(session) as (tokens, readings):
        for t in range(12):
            session.step_features(audio[t])
    assert len(tokens) == len(readings) == 0  # their states are made with the session's, not by a pass
    assert not session.state["face_on"].any()


def test_in_a_batch_each_conversation_s_face_comes_and_goes_as_in_its_solo_run() -> None:
    generator, tokenizer = models()
    audio, face, _ = speaker(30, 4)
    faces = [lambda t: face[t] if not 8 <= t < 12 else None,  # lost for 4 frames
             lambda t: None if t < 5 else face[t],  # a camera that finds the face at frame 5
             lambda t: None]  # no camera
    solo = []
    for i, seen in enumerate(faces):
        session = StreamingSession(generator, tokenizer, samples=2, read_emotion=True, seed=i)
        solo.append([session.step_features(audio[t], seen(t)) for t in range(30)])
    batch = StreamingSession(generator, tokenizer, samples=2, read_emotion=True, seeds=[0, 1, 2])
    ages = [0, 0, 0]
    for tick in range(34):
        # conversation 1's frames are late on ticks 6, 7, 13 and 14 (stepped later), the others' never
        active = [0, 2] if tick in (6, 7, 13, 14) else [2, 1, 0]
        active = [c for c in active if ages[c] < 30] if tick else [0, 1, 2]
        if not active:
            break
        shown = [faces[c](ages[c]) for c in active]
        face_in = np.stack([f if f is not None else np.zeros_like(face[0]) for f in shown])
        got = batch.step_clips(audio[[ages[c] for c in active]], face_in,
                               face_on=np.array([f is not None for f in shown]),
                               active=None if tick == 0 else np.array(active))
        for i, c in enumerate(active):
            np.testing.assert_array_equal(got.tokens[2 * i:2 * i + 2], solo[c][ages[c]].tokens)
            np.testing.assert_allclose(got.face[2 * i:2 * i + 2], solo[c][ages[c]].face, atol=1e-5)
            ages[c] += 1
    assert ages == [30, 30, 30]
