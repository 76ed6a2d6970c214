"""`facereact data check`: validate every file of a corpus and summarise it."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facereact.data.audio import check_rate, read_wav
from facereact.data.check_report import CheckReport
from facereact.data.clip_io import load_emotion, load_face, load_neighbours
from facereact.data.corpus import MAX_FRAME_SKEW, ReactCorpus
from facereact.data.mars import is_mars
from facereact.data.mars_check import check_mars
from facereact.data.paths import AUDIO_DIR, FACE_DIR, SPLITS, ClipRef, neighbour_file
from facereact.errors import DataError
from facereact.layout import FPS


def _check_wav(path: Path) -> tuple[int, float]:
    """Sample rate and length in video frames of a readable wav of finite samples whose rate fits
    the MFCC recipe; DataError otherwise."""
    if not path.is_file():
        raise DataError(path, "missing wav file")
    samples, rate = read_wav(path)  # names the file: unreadable, empty, NaN or inf samples
    try:
        check_rate(rate)
    except DataError as exc:
        raise DataError(path, exc.problem) from None
    return rate, len(samples) / int(rate / FPS)


def _check_clip(root: Path, clip: ClipRef, report: CheckReport, rates: Counter) -> int | None:
    """Frame count of a person clip (None when broken); problems go into the report."""
    lengths = []
    for loader, file in ((load_face, clip.file(root, FACE_DIR)), (load_emotion, clip.emotion_file(root))):
        try:
            lengths.append(len(loader(file)))
        except DataError as exc:
            report.problems.append(str(exc))
    wav = clip.file(root, AUDIO_DIR)
    try:
        rate, audio_frames = _check_wav(wav)
        rates[rate] += 1
    except DataError as exc:
        report.problems.append(str(exc))
        audio_frames = None
    if len(lengths) == 2 and abs(lengths[0] - lengths[1]) > MAX_FRAME_SKEW:
        report.problems.append(f"{clip.file(root, FACE_DIR)}: {lengths[0]} frames but its emotion csv "
                               f"has {lengths[1]}")
    if lengths and audio_frames is not None and abs(audio_frames - min(lengths)) > MAX_FRAME_SKEW:
        # Features of a short wav would be zero-padded silence: the model would hear nothing.
        report.problems.append(f"{wav}: {audio_frames / FPS:.2f} s of audio for a clip of {min(lengths)} frames "
                               f"({min(lengths) / FPS:.2f} s)")
    return min(lengths) if len(lengths) == 2 else None


def check_corpus(root: str | Path, splits: tuple[str, ...] = SPLITS, progress: bool = True) -> CheckReport:
    """Check a corpus in the REACT 2024 layout or, recognised by its folders, the MARS one (2025/2026)."""
    root = Path(root)
    report = CheckReport()
    if not root.is_dir():
        report.problems.append(f"{root}: corpus folder does not exist")
        return report
    if is_mars(root):
        return check_mars(root, splits, progress)
    present = [s for s in splits if (root / f"{s}.csv").is_file()]
    if not present:
        report.problems.append(f"{root}: no split list ({', '.join(s + '.csv' for s in splits)})")
        return report
    for split in present:
        try:
            corpus = ReactCorpus(root, split)
        except DataError as exc:
            report.problems.append(str(exc))
            continue
        clips = corpus.clips()
        rates: Counter = Counter()
        frames = {}
        for clip in tqdm(clips, desc=f"check {split}", disable=not progress, leave=False):
            frames[clip] = _check_clip(root, clip, report, rates)
        sites = Counter(p.speaker.site for p in corpus.pairs[: len(corpus) // 2])
        known = [f for f in frames.values() if f is not None]
        line = (f"{split}: {len(corpus) // 2} rows ({len(corpus)} with mirrored), {len(clips)} person clips; "
                f"sites {dict(sites)}")
        if known:
            line += f"; frames min {min(known)} median {int(np.median(known))} max {max(known)}"
        line += f"; sample rates {dict(rates)}"
        report.lines.append(line)
        if len(rates) > 1:
            report.lines.append(f"  note: {len(rates)} sample rates in {split}; each wav's features are computed at "
                                "its own rate, so they stay comparable")
        try:  # ours, optional: who each person is (data/personality.py)
            table = corpus.personality()
            if table:
                people = {c.person for c in clips}
                report.lines.append(f"  personality: {len(people & set(table))} of {len(people)} people"
                                    + (f"; {len(set(table) - people)} rows name no one here" if set(table) - people else ""))
        except DataError as exc:
            report.problems.append(str(exc))
        if split != "train" or neighbour_file(root, split).is_file():
            try:
                m = load_neighbours(neighbour_file(root, split), len(corpus))
                per_row = m.sum(1)
                report.lines.append(f"  neighbours per row: mean {per_row.mean():.2f} min {per_row.min()} "
                                    f"max {per_row.max()}; diagonal set on {int(np.diag(m).sum())}/{len(m)} rows")
            except DataError as exc:
                report.problems.append(str(exc))
    return report
