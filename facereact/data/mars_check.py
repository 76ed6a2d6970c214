"""`facereact data check` for a MARS corpus (REACT 2025/2026): every file read, every problem named."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facereact.data.audio import MIN_RATE, read_wav
from facereact.data.check_report import CheckReport
from facereact.data.corpus import MAX_FRAME_SKEW
from facereact.data.mars import (ATTRIBUTES, AUDIO, COEFFICIENTS, EEG_DIR, PERSONALITY_DIR, ROLES, SPLITS, WAV2VEC,
                                 MarsClip, MarsCorpus, load_array, load_eeg)
from facereact.data.personality import load_personality
from facereact.errors import DataError
from facereact.layout import MARS_FPS


def _frames(root: Path, clip: MarsClip, report: CheckReport, seen: Counter) -> int | None:
    """The clip's frame count (None when broken); problems go into the report."""
    lengths = {}
    for modality in (ATTRIBUTES, COEFFICIENTS, WAV2VEC):
        path = clip.file(root, modality)
        if modality == WAV2VEC and not path.is_file():
            continue
        try:
            lengths[modality] = len(load_array(path, modality))
            seen[modality] += 1
        except DataError as exc:
            report.problems.append(str(exc))
    wav = clip.file(root, AUDIO)
    if wav.is_file():
        try:
            samples, rate = read_wav(wav)
            if rate < MIN_RATE:
                raise DataError(wav, f"sample rate {rate} Hz is below {MIN_RATE} Hz")
            lengths[AUDIO] = len(samples) * MARS_FPS / rate
            seen[AUDIO] += 1
        except DataError as exc:
            report.problems.append(str(exc))
    elif not clip.file(root, WAV2VEC).is_file():
        report.problems.append(f"{wav}: missing, and no {WAV2VEC} file either: the clip has no audio")
    if not lengths:
        return None
    frames = lengths.get(ATTRIBUTES, lengths.get(COEFFICIENTS))
    if frames is None:
        return None
    for modality, n in lengths.items():
        if abs(n - frames) > MAX_FRAME_SKEW:
            unit = f"{n / MARS_FPS:.2f} s of audio" if modality == AUDIO else f"{n} frames"
            report.problems.append(f"{clip.file(root, modality)}: {unit} for a clip of {frames} frames "
                                   f"({frames / MARS_FPS:.2f} s at {MARS_FPS} fps)")
    return frames


def _check_extras(corpus: MarsCorpus, report: CheckReport) -> list[str]:
    """The 2026 files, where present: personality rows that name known clips, EEG files that read."""
    notes = []
    for role in ROLES:
        path = corpus.root / corpus.split / PERSONALITY_DIR / f"{role}.csv"
        if not path.is_file():
            continue
        try:
            table = load_personality(path)
        except DataError as exc:
            report.problems.append(str(exc))
            continue
        stems = {c.stem for c in corpus.clips if c.role == role}
        unknown = sorted(Path(n).stem for n in table if Path(n).stem not in stems)
        notes.append(f"personality {role}: {len(table)} rows" + (f", {len(unknown)} naming no clip "
                                                                   f"(first {unknown[0]})" if unknown else ""))
    eeg_files = sorted((corpus.root / corpus.split / EEG_DIR).glob("*/session*/*.csv"))
    missing_cells = 0
    for path in eeg_files:
        try:
            missing_cells += int(np.isnan(load_eeg(path)).sum())
        except DataError as exc:
            report.problems.append(str(exc))
    if eeg_files:
        notes.append(f"EEG: {len(eeg_files)} files, {missing_cells} missing cells")
    return notes


def check_mars(root: str | Path, splits: tuple[str, ...] = SPLITS, progress: bool = True) -> CheckReport:
    root = Path(root)
    report = CheckReport()
    report.lines.append(f"{root}: MARS layout (REACT 2025/2026, {MARS_FPS} fps)")
    for split in splits:
        if not (root / split).is_dir():
            continue
        try:
            corpus = MarsCorpus(root, split)
        except DataError as exc:
            report.problems.append(str(exc))
            continue
        seen: Counter = Counter()
        frames = [f for clip in tqdm(corpus.clips, desc=f"check {split}", disable=not progress, leave=False)
                  if (f := _frames(root, clip, report, seen)) is not None]
        for clip in corpus.unpaired:
            report.problems.append(f"{clip.file(root, ATTRIBUTES)}: no {clip.partner.role} clip with the same stem "
                                   f"in session{clip.session}")
        line = (f"{split}: {len(corpus.sessions())} sessions, {len(corpus)} speaker-listener pairs, "
                f"{len(corpus.clips)} clips; files {dict(sorted(seen.items()))}")
        if frames:
            line += (f"; frames min {min(frames)} median {int(np.median(frames))} max {max(frames)} "
                     f"({sum(frames) / MARS_FPS / 3600:.2f} h)")
        report.lines.append(line + f"; face-crop videos {corpus.videos()}")
        report.lines += [f"  {note}" for note in _check_extras(corpus, report)]
    if len(report.lines) == 1 and not report.problems:
        report.problems.append(f"{root}: no split folder ({', '.join(SPLITS)})")
    return report
