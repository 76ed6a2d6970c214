"""Every input set a robot may have: audio alone, audio and a tracked face, everything."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from facereact.data.audio import wav_features
from facereact.errors import UsageError
from facereact.generator.generate import generate_split
from facereact.generator.inputs import INPUT_SETS, uses
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession, generate_clip
from facereact.generator.training import GeneratorTask, GeneratorTraining
from facereact.layout import BLENDSHAPE_NAMES, FACE_DIM, face_from_tracker, face_to_tracker

from test_generator import models, speaker, token_pair


def tracker_frame(rng: np.random.Generator, translation: bool = True) -> dict[str, float]:
    frame = {name: float(rng.uniform(0, 1)) for name in BLENDSHAPE_NAMES}
    frame.update(pitch=0.1, yaw=-0.2, roll=0.05, _neutral=0.3)  # MediaPipe adds "_neutral"
    if translation:
        frame.update(tx=0.01, ty=-0.02, tz=0.5)
    return frame


def test_tracker_names_round_trip_and_bad_names_are_named() -> None:
    rng = np.random.default_rng(0)
    frame = tracker_frame(rng)
    face = face_from_tracker(frame)
    assert face.shape == (FACE_DIM,) and face[BLENDSHAPE_NAMES.index("jawOpen")] == np.float32(frame["jawOpen"])
    again = face_to_tracker(face)
    np.testing.assert_array_equal(face_from_tracker(again), face)
    no_head = tracker_frame(rng, translation=False)
    assert face_from_tracker(no_head, translation=[1.0, 2.0, 3.0])[-3:].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="unknown face names.*jawOpenWide"):
        face_from_tracker({**frame, "jawOpenWide": 0.1})
    with pytest.raises(ValueError, match="missing face names.*mouthSmileLeft"):
        face_from_tracker({k: v for k, v in frame.items() if k != "mouthSmileLeft"})
    with pytest.raises(ValueError, match="missing face names.*tx"):
        face_from_tracker(no_head)  # no translation and no resting head to fill it
    with pytest.raises(ValueError, match=r"browInnerUp = 1.5 is outside \[0, 1\]"):
        face_from_tracker({**frame, "browInnerUp": 1.5})
    with pytest.raises(ValueError, match="not in radians"):
        face_from_tracker({**frame, "yaw": 45.0})


def test_absent_inputs_are_not_zeros() -> None:
    """An absent face is the learned absent vector, whatever its values; a present zero face is not."""
    generator, _ = models()
    with torch.no_grad():
        generator.absent_face.normal_()
        generator.absent_emotion.normal_()
    audio, face, emotion = (torch.from_numpy(x)[None] for x in speaker(10))
    tokens = torch.zeros(1, 10, dtype=torch.long)
    zero_face, zero_emotion = torch.zeros_like(face), torch.zeros_like(emotion)
    off, on = torch.zeros(1), torch.ones(1)
    with torch.no_grad():
        absent = generator.speaker_embedding(audio, face, emotion, tokens, off, off)
        absent_other = generator.speaker_embedding(audio, face + 1, emotion * 0, tokens + 3, off, off)
        zeros = generator.speaker_embedding(audio, zero_face, zero_emotion, tokens, on, on)
        full = generator.speaker_embedding(audio, face, emotion, tokens)
    torch.testing.assert_close(absent, absent_other)  # absent: the values do not matter
    assert not torch.allclose(absent, zeros) and not torch.allclose(full, absent)


def test_training_windows_hide_face_and_emotion_in_the_stated_shares() -> None:
    generator, _ = models()
    task = GeneratorTask(generator, [token_pair(64)], [], GeneratorTraining(window=32, audio_only=0.3, no_emotion=0.2))
    batch = task.make_batch([0] * 2000, list(range(2000)), torch.device("cpu"))
    face_on, emotion_on = batch[-3], batch[-2]  # then where each window starts
    assert abs(1 - face_on.mean().item() - 0.3) < 0.04  # audio alone
    assert abs(face_on.mean().item() - emotion_on.mean().item() - 0.2) < 0.04  # face without emotion
    assert bool((emotion_on <= face_on).all())  # never emotion without a face
    loss, logs = task.loss(generator, task.make_batch([0, 0, 0, 0], [1, 2, 3, 4], torch.device("cpu")))
    assert torch.isfinite(loss) and logs["ce"] > 0
    with pytest.raises(UsageError, match="audio_only"):
        GeneratorTraining(audio_only=0.6, no_emotion=0.5)


@pytest.mark.parametrize("input_set", INPUT_SETS)
def test_streaming_raw_audio_equals_online_generation_for_every_input_set(input_set: str, tmp_path: Path) -> None:
    generator, tokenizer = models()
    with_face, with_emotion, read = uses(input_set)
    rate, t = 16000, 24
    samples = np.random.default_rng(1).normal(0, 0.1, t * rate // 25)
    sf.write(tmp_path / "s.wav", samples, rate, subtype="FLOAT")
    _, face, emotion = speaker(t)
    audio = wav_features(tmp_path / "s.wav", t, cache_dir=tmp_path)
    clip = generate_clip(generator, tokenizer, audio, face if with_face else None, emotion if with_emotion else None,
                         samples=3, seed=9, read_emotion=read)
    session = StreamingSession(generator, tokenizer, samples=3, seed=9, read_emotion=read)
    wav, _ = sf.read(tmp_path / "s.wav", dtype="float64")
    per = rate // 25
    frames = [session.step(wav[i * per:(i + 1) * per], rate, face[i] if with_face else None,
                           emotion[i] if with_emotion else None) for i in range(t)]
    np.testing.assert_array_equal(np.stack([f.tokens for f in frames], 1), clip[2])
    assert session.inputs_seen == {input_set}


def test_audio_alone_stays_causal() -> None:
    generator, tokenizer = models()
    audio, _, _ = speaker(30)
    later = audio.copy()
    later[16:] += 5.0  # audio alone: frames up to 15 cannot know
    changed = generate_clip(generator, tokenizer, later, samples=2, seed=3, sampling=Sampling(guidance=2.0))
    base = generate_clip(generator, tokenizer, audio, samples=2, seed=3, sampling=Sampling(guidance=2.0))
    assert np.array_equal(base[2][:, :16], changed[2][:, :16])


def test_a_session_takes_tracker_frames_and_names_bad_ones() -> None:
    generator, tokenizer = models()
    rng = np.random.default_rng(0)
    audio, face, _ = speaker(5)
    session = StreamingSession(generator, tokenizer, samples=2)
    frame = tracker_frame(rng, translation=False)  # the model's resting head fills the translation
    out = session.step_features(audio[0], frame)
    assert out.face.shape == (2, FACE_DIM) and session.inputs_seen == {"audio+face"}
    with pytest.raises(UsageError, match="face frame: unknown face names"):
        session.step_features(audio[1], {**frame, "cheekPuffed": 1.0})
    with pytest.raises(UsageError, match="58 coefficients"):
        session.step_features(audio[1], face[1][:10])


def test_generate_split_records_its_input_set(tiny_corpus: Path) -> None:
    generator, tokenizer = models()
    arrays = generate_split(generator, tokenizer, tiny_corpus, "val", samples=2, progress=False, inputs="audio",
                            rows=1)
    assert arrays["pred"].shape[:2] == (1, 2) and str(arrays["inputs"]) == "audio"
    with pytest.raises(UsageError, match="unknown input set"):
        generate_split(generator, tokenizer, tiny_corpus, "val", inputs="video")
