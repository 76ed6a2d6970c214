"""What to render: a clip of a corpus (speaker, real listener, generated listeners) or face files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facereact.data.clip_io import load_face
from facereact.data.corpus import ReactCorpus
from facereact.data.paths import AUDIO_DIR
from facereact.errors import DataError, UsageError
from facereact.layout import EMOTION_DIM, FACE_DIM
from facereact.metrics.files import read_npz


@dataclass
class ClipView:
    """Tracks of one clip, in the order they are shown."""

    faces: list[tuple[str, np.ndarray]]     # (label, (T, FACE_DIM))
    emotions: list[tuple[str, np.ndarray]]  # (label, (T, EMOTION_DIM))
    audio: Path | None                      # the speaker's wav


def load_predictions(path: str | Path, rows: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, K, T, FACE_DIM) generated faces and, when present, (N, K, T, EMOTION_DIM) emotion;
    `rows` checks N against a corpus split."""
    data = read_npz(Path(path))
    if "pred_face" not in data:
        raise DataError(path, f"no 'pred_face' array to draw; it holds {sorted(data)}")
    face, emotion = data["pred_face"], data.get("pred")
    if face.ndim != 4 or face.shape[3] != FACE_DIM or rows not in (None, face.shape[0]):
        raise DataError(path, f"'pred_face' has shape {face.shape}, expected ({rows or 'N'}, K, T, {FACE_DIM})")
    if emotion is not None and emotion.shape != face.shape[:3] + (EMOTION_DIM,):
        raise DataError(path, f"'pred' has shape {emotion.shape}, expected {face.shape[:3] + (EMOTION_DIM,)}")
    return face, emotion


def clip_view(root: str | Path, split: str, row: int, predictions: str | Path | None = None,
              samples: int = 2) -> ClipView:
    """Row `row` of the split's mirrored order; `samples` generated reactions from `predictions`."""
    corpus = ReactCorpus(root, split)
    if not 0 <= row < len(corpus):
        raise UsageError(f"{split} has rows 0..{len(corpus) - 1}, not {row}")
    pair = corpus.load_pair(row, with_audio=False)
    faces = [("speaker", pair.speaker_face), ("listener (real)", pair.listener_face)]
    emotions = [("speaker", pair.speaker_emotion), ("listener (real)", pair.listener_emotion)]
    if predictions is not None:
        face, emotion = load_predictions(predictions, len(corpus))
        for k in range(min(samples, face.shape[1])):
            faces.append((f"generated {k + 1}", face[row, k]))
            if emotion is not None:
                emotions.append((f"generated {k + 1}", emotion[row, k]))
    return ClipView(faces, emotions, pair.ref.speaker.file(corpus.root, AUDIO_DIR))


def prediction_tracks(path: str | Path, row: int, samples: int) -> list[tuple[str, np.ndarray]]:
    """Generated listeners of one row of a predictions file, without the corpus."""
    face, _ = load_predictions(path)
    if not 0 <= row < len(face):
        raise UsageError(f"{path} has rows 0..{len(face) - 1}, not {row}")
    return [(f"generated {k + 1}", face[row, k]) for k in range(min(samples, face.shape[1]))]


def face_files(paths: list[str | Path]) -> list[tuple[str, np.ndarray]]:
    """Any (T, FACE_DIM) or (T, 1, FACE_DIM) .npy files, labelled by file name."""
    return [(Path(p).stem, load_face(Path(p))) for p in paths]
