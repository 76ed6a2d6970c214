"""Strips of faces written as GIF and MP4, and `facereact render` on a corpus clip."""
from __future__ import annotations

import os
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from facereact.cli import main
from facereact.data.corpus import ReactCorpus
from facereact.io import save_npz_atomic
from facereact.layout import EMOTION_DIM, FACE_DIM, face_index
from facereact.viz.animate import BAR, HEADER, render_tracks, strip_frames
from facereact.viz.face import FaceStyle

STYLE = FaceStyle(size=64)


def nod(frames: int) -> np.ndarray:
    face = np.zeros((frames, FACE_DIM), dtype=np.float32)
    face[:, face_index("pitch")] = 0.15 * np.sin(np.linspace(0, 2 * np.pi, frames))
    return face


def test_strip_has_one_frame_per_step_and_faces_side_by_side() -> None:
    frames = list(strip_frames([("a", nod(12)), ("b", np.zeros((15, FACE_DIM)))], STYLE, progress=False))
    assert len(frames) == 12  # the shortest track
    assert frames[0].shape == (HEADER + 64 + BAR, 128, 3)
    # the nodding face changes over time, the still one does not
    assert not np.array_equal(frames[3][HEADER:HEADER + 64, :64], frames[0][HEADER:HEADER + 64, :64])
    assert np.array_equal(frames[3][HEADER:HEADER + 64, 64:], frames[0][HEADER:HEADER + 64, 64:])
    # the time bar grows
    bar = lambda f: int((f[HEADER + 64 + BAR // 2] != f[HEADER + 64]).any(axis=1).sum())  # noqa: E731
    assert bar(frames[0]) < bar(frames[6]) < bar(frames[11]) == 128


def test_gif_and_mp4_hold_every_frame_and_the_audio(tmp_path: Path) -> None:
    wav = tmp_path / "speaker.wav"
    sf.write(wav, np.sin(np.arange(16000) / 10.0).astype(np.float32) * 0.1, 16000)
    gif, mp4 = render_tracks([("a", nod(20)), ("b", nod(20)[::-1])], tmp_path / "out" / "strip", STYLE, audio=wav,
                             progress=False)
    with Image.open(gif) as im:
        assert im.n_frames == 20 and im.size == (128, HEADER + 64 + BAR)
        assert im.info["duration"] == 40  # 25 fps
    reader = imageio_ffmpeg.read_frames(str(mp4))
    meta = next(reader)
    assert meta["size"] == (128, HEADER + 64 + BAR) and meta["fps"] == 25
    assert meta.get("audio_codec") == "aac"
    assert sum(1 for _ in reader) == 20
    assert os.stat(gif).st_mode & 0o044  # readable by a web server, not mkstemp's 0600
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["strip.gif", "strip.mp4"]  # no temp files


def test_bad_tracks_are_refused(tmp_path: Path) -> None:
    bad = np.zeros((5, FACE_DIM))
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="listener: .*NaN"):
        render_tracks([("listener", bad)], tmp_path / "x.gif", STYLE, progress=False)
    with pytest.raises(ValueError, match=r"speaker: .*\(T, 58\)"):
        render_tracks([("speaker", np.zeros((5, 52)))], tmp_path / "x.gif", STYLE, progress=False)
    with pytest.raises(ValueError, match="gif or .mp4"):
        render_tracks([("a", nod(3))], tmp_path / "x.avi", STYLE, progress=False)


def test_render_cli_draws_a_clip_with_generated_listeners(corpus_root: Path, tmp_path: Path) -> None:
    rows = len(ReactCorpus(corpus_root, "val"))
    frames = ReactCorpus(corpus_root, "val").load_pair(0, with_audio=False).frames
    rng = np.random.default_rng(0)
    pred = tmp_path / "pred.npz"
    save_npz_atomic(pred, {"pred": rng.uniform(0, 1, (rows, 3, frames, EMOTION_DIM)).astype(np.float32),
                           "pred_face": rng.uniform(0, 0.5, (rows, 3, frames, FACE_DIM)).astype(np.float32)})
    out = tmp_path / "clip1"
    assert main(["render", "--data", str(corpus_root), "--clip", "1", "--pred", str(pred), "--samples", "2",
                 "--size", "48", "--out", str(out)]) == 0
    with Image.open(out.with_suffix(".gif")) as im:
        assert im.n_frames == frames and im.size == (4 * 48, HEADER + 48 + BAR)  # speaker, real, 2 generated
    meta = next(imageio_ffmpeg.read_frames(str(out.with_suffix(".mp4"))))
    assert meta.get("audio_codec") == "aac"
    assert (tmp_path / "clip1_emotion.png").stat().st_size > 10_000


def test_render_cli_names_a_predictions_file_of_the_wrong_shape(corpus_root: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    pred = tmp_path / "pred.npz"
    save_npz_atomic(pred, {"pred_face": np.zeros((1, 2, 10, FACE_DIM), dtype=np.float32)})
    assert main(["render", "--data", str(corpus_root), "--pred", str(pred), "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert "pred.npz" in err and "pred_face" in err


def test_render_cli_draws_a_predictions_file_alone(tmp_path: Path) -> None:
    pred = tmp_path / "pred.npz"
    face = np.zeros((2, 3, 8, FACE_DIM), dtype=np.float32)
    face[1, :, :, face_index("jawOpen")] = 0.8
    save_npz_atomic(pred, {"pred_face": face})
    out = tmp_path / "row1.gif"
    assert main(["render", "--pred", str(pred), "--clip", "1", "--samples", "3", "--size", "48", "--out", str(out)]) == 0
    with Image.open(out) as im:
        assert im.n_frames == 8 and im.size == (3 * 48, HEADER + 48 + BAR)
