"""The per-frame MFCC (data/audio.py) as torch operations on one frame of PCM, for the exported
step: a host hands the graph its microphone's samples, not features.

Computed in float64, as numpy does, so that the features rounded to float32 are the ones
`StreamingSession.step` computes (the DFT as two matrix products: ONNX graphs run anywhere
that way, where a DFT operator is not in every runtime's kernels).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from facereact.data.audio import FLOAT32_EPS, check_rate, mfcc_recipe
from facereact.layout import MFCC


class FrameMFCC(nn.Module):
    """(samples,) float32 PCM of one video frame at `rate` -> (1, AUDIO_DIM) float32 features."""

    def __init__(self, rate: int, fps: int) -> None:
        super().__init__()
        check_rate(rate)
        window, shift, n_fft, povey, banks, dct = mfcc_recipe(rate)
        self.rate, self.samples, self.window = rate, int(rate / fps), window
        starts = np.arange(MFCC.n_subframes) * shift
        self.register_buffer("cut", torch.from_numpy(starts[:, None] + np.arange(window)), persistent=False)
        frequencies = np.arange(n_fft // 2 + 1)
        angle = 2 * math.pi * np.arange(window)[:, None] * frequencies[None, :] / n_fft  # zero-padded to n_fft
        self.register_buffer("cos", torch.from_numpy(np.cos(angle)), persistent=False)
        self.register_buffer("sin", torch.from_numpy(np.sin(angle)), persistent=False)
        self.register_buffer("povey", torch.from_numpy(povey), persistent=False)
        self.register_buffer("banks", torch.from_numpy(banks.T.copy()), persistent=False)
        self.register_buffer("dct", torch.from_numpy(dct), persistent=False)

    def forward(self, pcm: torch.Tensor) -> torch.Tensor:
        x = pcm.double()[self.cut]  # (sub, window)
        x = x - x.mean(-1, keepdim=True)
        log_energy = torch.log((x * x).sum(-1).clamp(min=FLOAT32_EPS)).clamp(min=0.0)
        previous = torch.cat([x[:, :1], x[:, :-1]], -1)
        x = (x - 0.97 * previous) * self.povey
        power = (x @ self.cos) ** 2 + (x @ self.sin) ** 2
        ceps = torch.log((power @ self.banks).clamp(min=FLOAT32_EPS)) @ self.dct  # (sub, n_ceps)
        ceps = torch.cat([log_energy[:, None], ceps[:, 1:]], -1)
        static = ceps.t()  # (n_ceps, sub)
        delta = _deltas(static)
        return torch.stack([static, delta, _deltas(delta)]).reshape(1, -1).float()


def _deltas(x: torch.Tensor, win: int = 5) -> torch.Tensor:
    """data/audio._deltas along the last axis (edge replication)."""
    n = (win - 1) // 2
    denominator = n * (n + 1) * (2 * n + 1) / 3
    padded = torch.cat([x[..., :1].expand(*x.shape[:-1], n), x, x[..., -1:].expand(*x.shape[:-1], n)], -1)
    length = x.shape[-1]
    total = sum(k * padded[..., n + k: n + k + length] for k in range(-n, n + 1) if k)
    return total / denominator
