from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import GOLDEN
from facereact.data.audio import frame_features, read_wav, wav_features
from facereact.errors import DataError
from facereact.layout import AUDIO_DIM

WAVS = sorted((GOLDEN / "audio").glob("*.wav"))


@pytest.mark.parametrize("wav", WAVS, ids=[w.stem for w in WAVS])
def test_matches_torchaudio_kaldi_recipe(wav: Path) -> None:
    expected = np.load(wav.with_suffix(".features.npy"))
    samples, rate = read_wav(wav)
    got = frame_features(samples, rate, expected.shape[0])
    assert got.shape == expected.shape == (expected.shape[0], AUDIO_DIM)
    np.testing.assert_allclose(got, expected, atol=1e-3, rtol=0)


def test_golden_files_are_present() -> None:
    assert len(WAVS) == 3


def test_no_look_ahead() -> None:
    rng = np.random.default_rng(1)
    samples = rng.normal(0, 0.1, 16000)
    changed = samples.copy()
    changed[640 * 10:] = rng.normal(0, 0.5, 16000 - 6400)  # frames 10.. differ
    a, b = frame_features(samples, 16000, 25), frame_features(changed, 16000, 25)
    np.testing.assert_array_equal(a[:10], b[:10])
    assert not np.allclose(a[10:], b[10:])


def test_stereo_is_channel_mean(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    stereo = rng.normal(0, 0.1, (8000, 2))
    sf.write(tmp_path / "s.wav", stereo, 16000, subtype="FLOAT")
    sf.write(tmp_path / "m.wav", stereo.mean(1), 16000, subtype="FLOAT")
    np.testing.assert_allclose(wav_features(tmp_path / "s.wav", 12), wav_features(tmp_path / "m.wav", 12), atol=1e-5)


def test_cache_is_keyed_by_content(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    sf.write(wav, np.random.default_rng(3).normal(0, 0.1, 8000), 16000)
    first = wav_features(wav, 10, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.npy"))) == 1
    sf.write(wav, np.random.default_rng(4).normal(0, 0.3, 8000), 16000)
    second = wav_features(wav, 10, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.npy"))) == 2
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(second, wav_features(wav, 10, cache_dir=tmp_path / "c"))


def test_unreadable_and_unsupported_wavs_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wav")
    with pytest.raises(DataError, match="bad.wav: unreadable wav"):
        wav_features(bad, 5)
    odd = tmp_path / "odd.wav"
    sf.write(odd, np.zeros(4000), 4000)
    with pytest.raises(DataError, match="odd.wav: sample rate 4000 Hz is below"):
        wav_features(odd, 5)
