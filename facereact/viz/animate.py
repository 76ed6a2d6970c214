"""Side-by-side face animations (speaker | real listener | generated listeners) as GIF and MP4."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from facereact.errors import UsageError
from facereact.io import atomic_path
from facereact.layout import FACE_DIM, FPS
from facereact.viz.face import FaceStyle, draw_face

HEADER = 24  # pixels of labels above the faces
BAR = 8      # pixels of time bar below them
BAR_COLOR = (70, 110, 170)


def check_track(label: str, face: np.ndarray) -> np.ndarray:
    face = np.asarray(face)
    if face.ndim == 3 and face.shape[1] == 1:  # the release's (T, 1, 58)
        face = face[:, 0]
    if face.ndim != 2 or face.shape[1] != FACE_DIM:
        raise UsageError(f"{label}: a face sequence is (T, {FACE_DIM}), got shape {face.shape}")
    if not np.isfinite(face).all():
        raise UsageError(f"{label}: the face sequence holds NaN or infinite values")
    return face


def _header(labels: Sequence[str], size: int, background: tuple[int, int, int]) -> np.ndarray:
    image = Image.new("RGB", (size * len(labels), HEADER), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    for i, label in enumerate(labels):
        width = draw.textlength(label, font=font)
        draw.text((i * size + (size - width) / 2, 5), label, fill=(40, 40, 40), font=font)
    return np.asarray(image)


def strip_frames(tracks: Sequence[tuple[str, np.ndarray]], style: FaceStyle = FaceStyle(),
                 progress: bool = True) -> Iterator[np.ndarray]:
    """Yield (HEADER + size + BAR, size * len(tracks), 3) uint8 frames, one per time step."""
    if not tracks:
        raise UsageError("nothing to render: no face tracks given")
    faces = [check_track(label, face) for label, face in tracks]
    frames = min(len(f) for f in faces)
    if frames == 0:
        raise UsageError("nothing to render: a face track has no frames")
    size, width = style.size, style.size * len(faces)
    header = _header([label for label, _ in tracks], size, style.background)
    for t in tqdm(range(frames), desc="render", unit="frame", disable=not progress, leave=False):
        canvas = np.empty((HEADER + size + BAR, width, 3), dtype=np.uint8)
        canvas[:HEADER] = header
        for i, face in enumerate(faces):
            canvas[HEADER:HEADER + size, i * size:(i + 1) * size] = np.asarray(draw_face(face[t], style))
        canvas[HEADER + size:] = (225, 225, 225)
        canvas[HEADER + size + 2:HEADER + size + BAR - 2, :max(1, round(width * (t + 1) / frames))] = BAR_COLOR
        yield canvas


def write_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = FPS) -> Path:
    """One shared palette for all frames: the faces use few colours, and it keeps colours steady."""
    palette = Image.fromarray(frames[0]).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    images = [Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps),
                       loop=0, optimize=False, disposal=1)
    return Path(path)


def write_mp4(frames: Sequence[np.ndarray], path: str | Path, fps: float = FPS, audio: str | Path | None = None) -> Path:
    """H.264 MP4 through imageio-ffmpeg's bundled ffmpeg; `audio` (a wav) is muxed in, cut to the video."""
    import imageio_ffmpeg

    if audio is not None and not Path(audio).is_file():
        raise FileNotFoundError(f"{audio}: no such audio file to mux")
    height, width = frames[0].shape[:2]
    params = ["-movflags", "+faststart"] + (["-shortest"] if audio is not None else [])
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=7,
            macro_block_size=2, audio_path=None if audio is None else str(audio),
            audio_codec=None if audio is None else "aac", output_params=params, ffmpeg_log_level="error")
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    return Path(path)


def render_tracks(tracks: Sequence[tuple[str, np.ndarray]], out: str | Path, style: FaceStyle = FaceStyle(),
                  audio: str | Path | None = None, progress: bool = True) -> list[Path]:
    """Render once, write `out` as .gif, .mp4 or both (a path without suffix writes both)."""
    out = Path(out)
    frames = list(strip_frames(tracks, style, progress))
    suffixes = [out.suffix.lower()] if out.suffix else [".gif", ".mp4"]
    written = []
    for suffix in suffixes:
        target = out.with_suffix(suffix)
        if suffix == ".gif":
            written.append(write_gif(frames, target))
        elif suffix == ".mp4":
            written.append(write_mp4(frames, target, audio=audio))
        else:
            raise UsageError(f"{out}: write .gif or .mp4 (or give no suffix for both)")
    return written
