"""wav2vec2 features computed from a local checkpoint: what MARS ships, from any audio.

MARS's `audio-features/` hold wav2vec2-base-960h last-layer states interpolated to the video frame
count. A robot's microphone, or a corpus without those files, gets the same kind of features from
a checkpoint folder the user gives (the Hugging Face layout: `config.json` and `model.safetensors`).
Nothing is downloaded and weights are only read from safetensors, never unpickled. Needs the
optional `transformers` package (`pip install -e .[wav2vec2]`); MFCC, the default, needs nothing.

wav2vec2 attends both ways over the audio it is given, so live (Wav2Vec2Stream) a frame's feature
comes from the trailing window of audio that has arrived, which differs from a whole-clip feature
by what the future would have added.
"""
from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from facereact.errors import DataError, UsageError
from facereact.layout import WAV2VEC_DIM

RATE = 16000  # wav2vec2 hears 16 kHz
MIN_SAMPLES = 400  # its convolutional front end's receptive field (25 ms): shorter audio is padded


class Wav2Vec2Features:
    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        for name, why in (("config.json", "a wav2vec2 checkpoint folder holds config.json and model.safetensors"),
                          ("model.safetensors", "weights are read only from safetensors, never unpickled")):
            if not (folder / name).is_file():
                raise DataError(folder / name, f"missing ({why})")
        try:
            from transformers import Wav2Vec2Model
        except ImportError:
            raise UsageError("wav2vec2 features need the transformers package: pip install -e .[wav2vec2]") from None
        config = json.loads((folder / "config.json").read_text())
        if config.get("hidden_size") != WAV2VEC_DIM:
            raise DataError(folder / "config.json", f"hidden size {config.get('hidden_size')}: MARS's features "
                                                    f"(and generators trained on them) are {WAV2VEC_DIM}-d")
        try:
            self.model = Wav2Vec2Model.from_pretrained(folder, local_files_only=True, use_safetensors=True).eval()
        except Exception as exc:  # a wrong architecture or a damaged file: say which folder
            raise DataError(folder, f"not a loadable wav2vec2 checkpoint ({str(exc).splitlines()[0]})") from None
        processor = folder / "preprocessor_config.json"
        # wav2vec2-base-960h's processor scales each input to zero mean and unit variance
        self.normalize = json.loads(processor.read_text()).get("do_normalize", True) if processor.is_file() else True
        self.folder = folder

    @torch.inference_mode()
    def features(self, samples: np.ndarray, rate: int, frames: int) -> np.ndarray:
        """(frames, 768) float32 for mono `samples` in [-1, 1] at `rate` (16 kHz or a multiple of
        it): the last layer's states (50 a second), linearly interpolated to `frames` frames."""
        audio = to_16k(np.asarray(samples, np.float32), rate)
        if len(audio) < MIN_SAMPLES:
            audio = np.pad(audio, (MIN_SAMPLES - len(audio), 0))
        if self.normalize:
            audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        states = self.model(torch.from_numpy(audio)[None]).last_hidden_state  # (1, N, 768)
        out = F.interpolate(states.transpose(1, 2), size=frames, mode="linear", align_corners=False)
        return out[0].T.contiguous().numpy()


def to_16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """16 kHz audio from `rate`, an integer multiple of it (32, 48 kHz): low-pass (windowed sinc
    at 0.45 of the new rate) and keep every n-th sample."""
    if rate == RATE:
        return samples
    if rate % RATE:
        raise UsageError(f"wav2vec2 hears 16 kHz audio; {rate} Hz is not a multiple of it: resample first")
    factor = rate // RATE
    taps = 16 * factor + 1
    n = np.arange(taps) - taps // 2
    kernel = np.sinc(0.9 * n / factor) * np.hamming(taps)
    kernel = (kernel / kernel.sum()).astype(np.float32)
    return np.convolve(samples, kernel, mode="same")[::factor].astype(np.float32)


class Wav2Vec2Stream:
    """Live features, one per video frame: each frame's feature is the last frame of the trailing
    `window` seconds of audio (at most), computed when the frame's samples arrive."""

    def __init__(self, extractor: Wav2Vec2Features, rate: int, fps: int, window: float = 1.0) -> None:
        if window * fps < 1:
            raise UsageError(f"a wav2vec2 window of {window} s holds no frame at {fps} fps")
        to_16k(np.zeros(0, np.float32), rate)  # refuse a rate it cannot hear now, not at the first frame
        self.extractor, self.rate, self.fps = extractor, rate, fps
        self.frames: deque[np.ndarray] = deque(maxlen=int(round(window * fps)))  # the window's frames of audio

    def step(self, samples: np.ndarray) -> np.ndarray:
        """This frame's samples (rate / fps of them) -> its (768,) feature."""
        self.frames.append(np.asarray(samples, np.float32))
        return self.extractor.features(np.concatenate(self.frames), self.rate, len(self.frames))[-1]
