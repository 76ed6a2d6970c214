"""The MARS reader and checker (REACT 2025/2026) on tiny corpora written here, and the synthetic
MARS layout."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from facereact.data.check import check_corpus
from facereact.data.mars import (ATTRIBUTES, AUDIO, COEFFICIENTS, EEG_DIR, PERSONALITY_DIR, WAV2VEC, MarsClip,
                                 MarsCorpus, is_mars, load_eeg)
from facereact.errors import DataError
from facereact.layout import EEG_NAMES, EMOTION_DIM, FACE_DIM, MARS_FPS, PERSONALITY_NAMES, WAV2VEC_DIM
from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars


def write_clip(root: Path, clip: MarsClip, frames: int, attributes_shape=None, coefficients_shape=None,
               wav: bool = True, features: bool = False) -> None:
    rng = np.random.default_rng(frames)
    for modality, dim, shape in ((ATTRIBUTES, EMOTION_DIM, attributes_shape), (COEFFICIENTS, FACE_DIM, coefficients_shape)):
        path = clip.file(root, modality)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, rng.random(shape or (frames, dim)).astype(np.float32))
    if wav:
        path = clip.file(root, AUDIO)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), rng.normal(0, 0.1, frames * 16000 // MARS_FPS), 16000)
    if features:
        path = clip.file(root, WAV2VEC)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, rng.random((frames, WAV2VEC_DIM)).astype(np.float32))


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    """Two sessions of val: clips of different lengths, the release's squeezed axes, one clip
    with wav2vec features instead of a wav."""
    clips = [("speaker", 3, "Camera-a", 90), ("listener", 3, "Camera-a", 90),
             ("speaker", 3, "Camera-b", 240), ("listener", 3, "Camera-b", 240),
             ("speaker", 7, "Camera-c", 61), ("listener", 7, "Camera-c", 61)]
    for role, session, stem, frames in clips:
        clip = MarsClip("val", role, session, stem)
        write_clip(tmp_path, clip, frames,
                   coefficients_shape=(frames, 1, FACE_DIM) if stem == "Camera-a" else None,
                   attributes_shape=(1, frames, EMOTION_DIM) if stem == "Camera-b" else None,
                   wav=stem != "Camera-c", features=stem == "Camera-c")
    return tmp_path


def test_reader_finds_pairs_sessions_and_squeezes(tiny: Path) -> None:
    assert is_mars(tiny)
    corpus = MarsCorpus(tiny, "val")
    assert len(corpus) == 3 and not corpus.unpaired
    assert sorted(corpus.sessions()) == [3, 7] and len(corpus.sessions()[3]["listener"]) == 2
    speaker, listener = corpus.pairs[0]
    assert (speaker.role, listener.role, speaker.stem) == ("speaker", "listener", listener.stem)
    assert corpus.coefficients(MarsClip("val", "speaker", 3, "Camera-a")).shape == (90, FACE_DIM)
    assert corpus.attributes(MarsClip("val", "listener", 3, "Camera-b")).shape == (240, EMOTION_DIM)
    assert corpus.wav2vec(MarsClip("val", "speaker", 7, "Camera-c")).shape == (61, WAV2VEC_DIM)
    assert corpus.personality() == {} and corpus.eeg(speaker) is None and corpus.videos() == 0


def test_check_accepts_the_tiny_corpus_and_names_every_bad_file(tiny: Path) -> None:
    report = check_corpus(tiny, progress=False)
    assert report.ok, report.text()
    assert "MARS layout" in report.text() and "frames min 61" in report.text()
    bad_shape = MarsClip("val", "speaker", 3, "Camera-a").file(tiny, ATTRIBUTES)
    np.save(bad_shape, np.zeros((90, 24), np.float32))
    nan = MarsClip("val", "listener", 3, "Camera-b").file(tiny, COEFFICIENTS)
    values = np.load(nan)
    values[0, 5] = np.nan
    np.save(nan, values)
    MarsClip("val", "speaker", 7, "Camera-c").file(tiny, WAV2VEC).unlink()  # no audio at all now
    write_clip(tiny, MarsClip("val", "speaker", 9, "Camera-lonely"), 70)
    short = MarsClip("val", "listener", 3, "Camera-a").file(tiny, AUDIO)
    sf.write(str(short), np.zeros(16000), 16000)  # 1 s of audio for a 3 s clip
    problems = "\n".join(check_corpus(tiny, progress=False).problems)
    assert f"{bad_shape}: facial attributes shape (90, 24)" in problems
    assert f"{nan}: holds NaN" in problems
    assert "Camera-c.wav: missing, and no audio-features file either" in problems
    assert "Camera-lonely.npy: no listener clip with the same stem in session9" in problems
    assert f"{short}: 1.00 s of audio for a clip of 90 frames" in problems


def test_2026_files_personality_and_eeg(tiny: Path) -> None:
    folder = tiny / "val" / PERSONALITY_DIR
    folder.mkdir(parents=True)
    (folder / "listener.csv").write_text("video_name,session," + ",".join(PERSONALITY_NAMES) + "\n"
                                         "Camera-a.mp4,3,1,2,3,4,5\n")
    corpus = MarsCorpus(tiny, "val")
    assert np.allclose(corpus.personality()[("listener", "Camera-a")], [0, 0.25, 0.5, 0.75, 1.0])
    clip = MarsClip("val", "listener", 3, "Camera-a")
    eeg = clip.file(tiny, EEG_DIR)
    eeg.parent.mkdir(parents=True)
    eeg.write_text(",".join(EEG_NAMES) + "\n" + ",".join(["1000"] * 14) + "\n" + ",".join([""] + ["2"] * 12 + ["inf"]) + "\n")
    rows = load_eeg(eeg)
    assert rows.shape == (2, 14) and rows[0, 0] == 1.0 and rows[0, 4] == 1000.0  # raw channels / 1000
    assert np.isnan(rows[1, 0]) and np.isnan(rows[1, 13]) and rows[1, 5] == 2.0
    assert "EEG: 1 files, 2 missing cells" in check_corpus(tiny, progress=False).text()
    (folder / "speaker.csv").write_text("video_name," + ",".join(PERSONALITY_NAMES) + "\nCamera-a.mp4,0,2,3,4,5\n")
    with pytest.raises(DataError, match="outside 1..5"):
        corpus.personality()
    eeg.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"\[2\] columns, expected 14"):
        load_eeg(eeg)


def test_synthetic_mars_corpus(tmp_path: Path) -> None:
    config = MarsSynthConfig(sessions=3, clips_per_session=2, min_frames=70, max_frames=160, seed=1)
    root = synthesize_mars(tmp_path / "mars", config, progress=False)
    report = check_corpus(root, progress=False)
    assert report.ok, report.text()
    corpus = MarsCorpus(root, "train")
    assert len(corpus) == 6 and sorted(corpus.sessions()) == [0, 1, 2]
    lengths = {len(corpus.attributes(c)) for c in corpus.clips}
    assert len(lengths) > 2 and min(lengths) >= 70 and max(lengths) <= 160
    clip = corpus.clips[0]
    assert np.load(clip.file(root, COEFFICIENTS)).shape[1] == 1  # the release's singleton axis, squeezed on read
    assert corpus.wav2vec(clip).shape == (len(corpus.attributes(clip)), WAV2VEC_DIM)
    # A session is a prompt: its listeners' personas are alike, other sessions' are not.
    traits = {stem: v for (role, stem), v in corpus.personality().items() if role == "listener"}
    by_session = {k: [traits[c.stem] for c in v["listener"]] for k, v in corpus.sessions().items()}
    within = np.mean([np.abs(a[0] - a[1]).mean() for a in by_session.values()])
    across = np.mean([np.abs(by_session[i][0] - by_session[j][0]).mean() for i in range(3) for j in range(3) if i != j])
    assert within < 0.5 * across
    again = synthesize_mars(tmp_path / "again", config, progress=False)
    assert np.array_equal(np.load(clip.file(again, ATTRIBUTES)), np.load(clip.file(root, ATTRIBUTES)))


def test_features_are_memory_mapped_and_checked_in_blocks(tmp_path: Path) -> None:
    """Mapped wav2vec2 features are read from disk as sliced (a release is larger than memory),
    squeezed axes included; another dtype is converted in memory; a NaN past the first check block
    is still found, at its frame."""
    from facereact.data.clip_io import _CHECK_BLOCK
    from facereact.data.mars import load_array

    frames = _CHECK_BLOCK + 50
    features = np.random.default_rng(0).random((1, frames, WAV2VEC_DIM)).astype(np.float32)
    np.save(tmp_path / "f.npy", features)
    mapped = load_array(tmp_path / "f.npy", WAV2VEC, mapped=True)
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable and mapped.shape == (frames, WAV2VEC_DIM)
    np.testing.assert_array_equal(mapped[10:20], features[0, 10:20])
    np.save(tmp_path / "d.npy", features[0].astype(np.float64))
    converted = load_array(tmp_path / "d.npy", WAV2VEC, mapped=True)
    assert not isinstance(converted, np.memmap) and converted.dtype == np.float32
    features[0, _CHECK_BLOCK + 7, 3] = np.nan
    np.save(tmp_path / "n.npy", features)
    with pytest.raises(DataError, match=f"first at frame {_CHECK_BLOCK + 7}"):
        load_array(tmp_path / "n.npy", WAV2VEC, mapped=True)


def test_statistics_stream_over_blocks_and_arrays() -> None:
    """Per-channel mean and spread over many arrays, read a block at a time, equal the statistics
    of their concatenation (a channel far from 0 with a small spread included), floored."""
    from facereact.data import stats

    rng = np.random.default_rng(1)
    arrays = [rng.normal([5000.0, 0.0, 1.0], [0.5, 2.0, 0.0], (n, 3)).astype(np.float32) for n in (3, stats._BLOCK + 11, 700)]
    mean, std = stats.mean_std(arrays, floor=1e-3)
    frames = np.concatenate(arrays).astype(np.float64)
    np.testing.assert_allclose(mean, frames.mean(0), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(std[:2], frames.std(0)[:2], rtol=1e-7)
    assert std[2] == 1e-3
