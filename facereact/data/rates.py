"""What a corpus runs at: its frame rate and the audio feature its models hear.

REACT 2024 (NoXi/RECOLA) runs at 25 fps with MFCCs computed from the wav; MARS (REACT 2025/2026)
at 30 fps with the wav2vec2 features it ships. A generator records both in its config, and meeting
a corpus that disagrees is a clear error, never silently wrong timing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from facereact.data.mars import is_mars
from facereact.errors import UsageError
from facereact.layout import FPS, MARS_FPS


@dataclass(frozen=True)
class Rates:
    fps: int
    audio_feature: str
    layout: str


REACT2024 = Rates(FPS, "mfcc", "REACT 2024")
MARS = Rates(MARS_FPS, "wav2vec2", "MARS (REACT 2025/2026)")


def corpus_rates(root: str | Path) -> Rates:
    return MARS if is_mars(root) else REACT2024


def check_fits(fps: int, audio_feature: str, root: str | Path, model: str) -> None:
    """UsageError unless a model of this frame rate and audio feature fits the corpus at `root`."""
    rates = corpus_rates(root)
    if (fps, audio_feature) != (rates.fps, rates.audio_feature):
        raise UsageError(f"{model} runs at {fps} fps on {audio_feature} audio features; {root} is a {rates.layout} "
                         f"corpus at {rates.fps} fps with {rates.audio_feature} features: train one on it")
