from pathlib import Path

import numpy as np
import pytest

from conftest import ROWS
from facereact.cli import main
from facereact.data.check import check_corpus
from facereact.data.corpus import ReactCorpus
from facereact.errors import DataError
from facereact.layout import AUDIO_DIM, EMOTION_DIM, FACE_DIM


def test_reads_every_release_variant(corpus_root: Path) -> None:
    corpus = ReactCorpus(corpus_root, "val")
    assert len(corpus) == 4
    # Mirrored order: the listed rows, then the same rows with speaker and listener swapped.
    assert [p.speaker.path for p in corpus.pairs] == [ROWS[0][0], ROWS[1][0], ROWS[0][1], ROWS[1][1]]
    assert [p.listener.path for p in corpus.pairs] == [ROWS[0][1], ROWS[1][1], ROWS[0][0], ROWS[1][0]]
    for i in range(4):
        pair = corpus.load_pair(i)
        assert pair.frames == 51  # the 52-frame stream is cut to the shared length
        assert pair.speaker_audio.shape == (51, AUDIO_DIM)
        assert pair.speaker_face.shape == pair.listener_face.shape == (51, FACE_DIM)
        assert pair.speaker_emotion.shape == pair.listener_emotion.shape == (51, EMOTION_DIM)
    # The mirrored row's speaker is the listed row's listener, array for array.
    np.testing.assert_array_equal(corpus.load_pair(0).listener_face, corpus.load_pair(2).speaker_face)
    assert corpus.neighbours().shape == (4, 4)


def test_clip_frames_caps_and_rejects_short_clips(corpus_root: Path) -> None:
    assert ReactCorpus(corpus_root, "val", clip_frames=40).load_pair(1).frames == 40
    with pytest.raises(DataError, match="fewer than the 60"):
        ReactCorpus(corpus_root, "val", clip_frames=60).load_pair(0)


def test_check_passes_on_good_corpus(corpus_root: Path) -> None:
    report = check_corpus(corpus_root, progress=False)
    assert report.ok, report.text()
    assert "val: 2 rows (4 with mirrored), 4 person clips" in report.text()
    assert "sample rates" in report.text() and "neighbours per row: mean 1.75" in report.text()


def _face(root: Path, i: int) -> Path:
    return root / "val" / "3D_FV_files" / f"{ROWS[i][0]}.npy"


BREAKAGES = {
    "missing 3DMM": (lambda r: _face(r, 0).unlink(), "Expert_video/1.npy: missing 3DMM file"),
    "wrong shape": (lambda r: np.save(_face(r, 0), np.zeros((51, 57))), "Expert_video/1.npy: 3DMM shape (51, 57)"),
    "NaN": (lambda r: np.save(_face(r, 1), np.full((51, 58), np.nan)), "P25/2.npy: holds NaN or inf"),
    "column count": (lambda r: (r / "val/Emotion/RECOLA/group-1/P25/2.csv").write_text("h\n1,2,3\n"),
                     "P25/2.csv: emotion csv has [3] columns"),
    "unreadable wav": (lambda r: (r / "val/Audio_files" / f"{ROWS[1][1]}.wav").write_bytes(b"junk"),
                       "P26/2.wav: unreadable wav"),
    "neighbour size": (lambda r: np.save(r / "neighbour_emotion_val.npy", np.eye(3)),
                       "neighbour_emotion_val.npy: neighbour matrix shape (3, 3), expected (4, 4)"),
    "missing emotion": (lambda r: (r / "val/Emotion/NoXI/001_2016-03-17_Paris/P2/1.csv").unlink(),
                        "Novice_video/1.csv: missing emotion csv"),
}


@pytest.mark.parametrize("kind", list(BREAKAGES))
def test_check_names_each_bad_file(corpus_root: Path, kind: str, capsys: pytest.CaptureFixture) -> None:
    breaks, message = BREAKAGES[kind]
    breaks(corpus_root)
    report = check_corpus(corpus_root, progress=False)
    assert not report.ok
    assert any(message in p for p in report.problems), report.problems
    assert main(["data", "check", str(corpus_root), "--quiet"]) == 1
    assert message in capsys.readouterr().out


def test_loading_a_bad_clip_raises_a_named_error(corpus_root: Path) -> None:
    np.save(_face(corpus_root, 0), np.zeros((51, 3, 58)))
    with pytest.raises(DataError, match=r"Expert_video/1\.npy: 3DMM shape \(51, 3, 58\)"):
        ReactCorpus(corpus_root, "val").load_pair(0)


def test_bad_split_list(tmp_path: Path) -> None:
    (tmp_path / "val.csv").write_text("a,b,c\n")
    with pytest.raises(DataError, match="val.csv: header must be"):
        ReactCorpus(tmp_path, "val")
    assert main(["data", "check", str(tmp_path / "nowhere"), "--quiet"]) == 1
