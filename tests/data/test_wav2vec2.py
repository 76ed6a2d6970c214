"""wav2vec2 features from a local checkpoint folder (a tiny randomly initialised model written
here), and a MARS generator streaming raw audio through them."""
from pathlib import Path

import numpy as np
import pytest
import torch

from facereact.data.wav2vec2 import RATE, Wav2Vec2Features, Wav2Vec2Stream, to_16k
from facereact.errors import DataError, UsageError
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.generator.session import StreamingSession
from facereact.layout import MARS_FPS, WAV2VEC_DIM
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig

transformers = pytest.importorskip("transformers", reason="the wav2vec2 front end needs pip install -e .[wav2vec2]")


def write_checkpoint(folder: Path, hidden: int = WAV2VEC_DIM) -> Path:
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(hidden_size=hidden, num_hidden_layers=1, num_attention_heads=4,
                                         intermediate_size=64, conv_dim=(16,) * 7, num_conv_pos_embeddings=16,
                                         num_conv_pos_embedding_groups=4)
    transformers.Wav2Vec2Model(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("wav2vec2"))


def voice(seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)).astype(np.float32)


def test_clip_features_follow_the_video_frames(checkpoint: Path) -> None:
    """(frames, 768), finite, one per video frame; 48 kHz is heard as its 16 kHz version."""
    extractor = Wav2Vec2Features(checkpoint)
    audio = voice(2.0)
    features = extractor.features(audio, RATE, 60)
    assert features.shape == (60, WAV2VEC_DIM) and features.dtype == np.float32 and np.isfinite(features).all()
    assert not np.allclose(features[5], features[40])  # voiced and silent stretches differ
    loud = np.repeat(audio, 3)  # the same voice at 48 kHz (a step held three samples)
    np.testing.assert_allclose(extractor.features(to_16k(loud, 48000), RATE, 60),
                               extractor.features(loud, 48000, 60))
    with pytest.raises(UsageError, match="44100 Hz is not a multiple"):
        extractor.features(audio, 44100, 60)


def test_stream_gives_the_trailing_window_last_frame(checkpoint: Path) -> None:
    """A live frame's feature is the last frame of the window of audio that has arrived."""
    extractor = Wav2Vec2Features(checkpoint)
    stream = Wav2Vec2Stream(extractor, RATE, MARS_FPS, window=0.5)
    audio = voice(1.0)
    per = RATE // MARS_FPS
    live = [stream.step(audio[i * per:(i + 1) * per]) for i in range(30)]
    window = audio[(30 - 15) * per:30 * per]
    np.testing.assert_allclose(live[-1], extractor.features(window, RATE, 15)[-1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(live[3], extractor.features(audio[:4 * per], RATE, 4)[-1], rtol=1e-5, atol=1e-5)


def test_checkpoint_folders_are_checked(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="config.json"):
        Wav2Vec2Features(tmp_path)
    small = write_checkpoint(tmp_path / "small", hidden=32)
    with pytest.raises(DataError, match="hidden size 32"):
        Wav2Vec2Features(small)
    (small / "model.safetensors").rename(small / "pytorch_model.bin")
    with pytest.raises(DataError, match="never unpickled"):
        Wav2Vec2Features(small)


def test_mars_generator_streams_raw_audio_through_the_checkpoint(checkpoint: Path) -> None:
    """A generator of wav2vec2 features at 30 fps steps 1/30 s of samples a frame, hearing exactly
    the stream's features; without a checkpoint it says what it needs."""
    torch.manual_seed(0)
    tokenizer = FaceTokenizer(TokenizerConfig(levels=(5, 5), width=16, layers=1, heads=2, emotion_layers=1,
                                              context=6, fps=MARS_FPS)).eval()
    mean, std = [0.0] * WAV2VEC_DIM, [1.0] * WAV2VEC_DIM
    generator = ReactionGenerator(GeneratorConfig(levels=(5, 5), width=16, heads=2, layers=1, context=8,
                                                  fps=MARS_FPS, audio_feature="wav2vec2", audio_mean=mean,
                                                  audio_std=std)).eval()
    extractor = Wav2Vec2Features(checkpoint)
    audio, per = voice(0.4), RATE // MARS_FPS
    session = StreamingSession(generator, tokenizer, samples=2, seed=3, wav2vec2=extractor, wav2vec2_window=0.3)
    raw = [session.step(audio[i * per:(i + 1) * per], RATE) for i in range(12)]
    stream = Wav2Vec2Stream(extractor, RATE, MARS_FPS, window=0.3)
    precomputed = StreamingSession(generator, tokenizer, samples=2, seed=3)
    features = [precomputed.step_features(stream.step(audio[i * per:(i + 1) * per])) for i in range(12)]
    np.testing.assert_array_equal(np.stack([f.tokens for f in raw]), np.stack([f.tokens for f in features]))
    with pytest.raises(UsageError, match="one frame at 16000 Hz is 533 mono samples"):
        session.step(audio[:640], RATE)
    with pytest.raises(UsageError, match="hears wav2vec2 features"):
        StreamingSession(generator, tokenizer, samples=2).step(audio[:per], RATE)
