"""`facereact render`: animations (and the emotion plot) of a corpus clip or of face files."""
from __future__ import annotations

from pathlib import Path

from facereact.plots import plot_emotions
from facereact.viz.animate import render_tracks
from facereact.viz.face import FaceStyle
from facereact.viz.sources import clip_view, face_files, prediction_tracks


def render_clip(root: str | Path, split: str, row: int, out: str | Path, predictions: str | Path | None = None,
                samples: int = 2, style: FaceStyle = FaceStyle(), with_audio: bool = True,
                progress: bool = True) -> list[Path]:
    """speaker | real listener | generated listeners as `out` (.gif, .mp4, or both without a suffix),
    plus `<out>_emotion.png`: the same people's emotion on one time axis."""
    view = clip_view(root, split, row, predictions, samples)
    out = Path(out)
    written = render_tracks(view.faces, out, style, view.audio if with_audio else None, progress)
    plot = out.with_name(out.stem + "_emotion.png")
    plot_emotions(view.emotions, plot)
    return written + [plot]


def render_files(paths: list[str | Path], out: str | Path, audio: str | Path | None = None,
                 style: FaceStyle = FaceStyle(), progress: bool = True) -> list[Path]:
    """Face .npy files side by side, labelled by file name."""
    return render_tracks(face_files(paths), out, style, audio, progress)


def render_predictions(path: str | Path, row: int, out: str | Path, samples: int = 4,
                       style: FaceStyle = FaceStyle(), progress: bool = True) -> list[Path]:
    """Generated listeners of one row of a predictions file side by side (no corpus needed)."""
    return render_tracks(prediction_tracks(path, row, samples), out, style, None, progress)
