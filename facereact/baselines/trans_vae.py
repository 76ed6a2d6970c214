"""Trans-VAE, the challenge's transformer VAE baseline (docs/baselines.md), offline and online.

Speaker features (MFCC + the speaker's 3DMM and emotion, standing in for the video CNN) pass a
1-layer transformer encoder; a Gaussian latent drawn from it is added to every frame; two 1-layer
transformer decoders with causal band masks give the listener's 3DMM and emotion. Loss: MSE on
emotion and expression, 10x MSE on head pose, 1e-5 KL, and 10x a diversity term that pushes two
draws for the same speaker apart.

Offline: one latent per clip, pooled over the whole speaker encoding (attention both ways).
Online: the encoder is causal and each `latent_window`-frame window draws its latent from the
encoding of the frame before it (a learned start vector for the first window), so listener frame
t depends on speaker frames <= t only. The original pooled through learned mu/logvar tokens; a
mean pool (offline) or the last past frame (online) plays that part here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from facereact.baselines.clips import FeatureStats, SavedBaseline
from facereact.layout import EMOTION_DIM, FACE_DIM, N_BLENDSHAPES
from facereact.nn.blocks import Block, band_mask, symmetric_band_mask

KIND = "trans_vae"
# Frames one attention pass sees when a clip is sampled: a MARS clip can be 20 000 frames long, and a
# whole-clip band mask and its scores grow with the square of that (several GB).
CHUNK = 1024


@dataclass
class TransVAEConfig:
    online: bool = False
    width: int = 128
    heads: int = 4
    context: int = 100  # frames each attention sees
    window: int = 128  # training window
    latent_window: int = 16  # online: frames that share one latent
    pose_weight: float = 10.0
    kl_weight: float = 1e-5
    div_weight: float = 10.0
    stats: FeatureStats = field(default_factory=FeatureStats)


class TransVAE(SavedBaseline):
    kind, config_type = KIND, TransVAEConfig

    def __init__(self, config: TransVAEConfig) -> None:
        super().__init__(config)
        w = config.width
        self.speaker_in = nn.Linear(config.stats.speaker_dim, w)
        self.encoder = Block(w, config.heads)
        self.mu = nn.Linear(w, w)
        self.logvar = nn.Linear(w, w)
        self.start = nn.Parameter(torch.zeros(w))  # online: what the first window's latent reads
        self.latent_in = nn.Linear(w, w)
        self.face_decoder = Block(w, config.heads)
        self.face_out = nn.Linear(w, FACE_DIM)
        self.emotion_decoder = Block(w, config.heads)
        self.emotion_out = nn.Linear(w, EMOTION_DIM)

    def _attend(self, block: Block, x: torch.Tensor, causal: bool, chunk: int | None) -> torch.Tensor:
        """block(x) for (B, T, w) under the band mask, whole (chunk None) or `chunk` frames at a time, each
        with the frames before (and, both ways, after) that its output depends on: what the whole pass
        gives, to float rounding, with memory that does not grow with the square of T."""
        cfg, t = self.config, x.shape[1]

        def mask(n: int) -> torch.Tensor:
            return band_mask(n, cfg.context, x.device) if causal else symmetric_band_mask(n, cfg.context, x.device)

        if chunk is None or t <= chunk:
            return block(x, mask(t))
        # the causal convolution sees kernel - 1 frames back, then attention `context` more
        left, right = block.conv.kernel - 1 + cfg.context, 0 if causal else cfg.context
        parts = []
        for a in range(0, t, chunk):
            b = min(a + chunk, t)
            lo, hi = max(0, a - left), min(t, b + right)
            parts.append(block(x[:, lo:hi], mask(hi - lo))[:, a - lo:b - lo])
        return torch.cat(parts, 1)

    def posterior(self, speaker: torch.Tensor, chunk: int | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, speaker_dim) -> encoding (B, T, w), mu and logvar (B, T, w) for every frame's latent;
        chunk: frames attended at a time (None: all)."""
        cfg = self.config
        b, t, _ = speaker.shape
        x = self.speaker_in(speaker)
        h = self._attend(self.encoder, x, cfg.online, chunk)
        if cfg.online:
            # window j reads the encoding of frame j * latent_window - 1: strictly before the window
            starts = torch.arange(0, t, cfg.latent_window, device=x.device)
            source = torch.cat([self.start.expand(b, 1, -1), h[:, starts[1:] - 1]], 1)  # (B, windows, w)
            per_frame = source.repeat_interleave(cfg.latent_window, 1)[:, :t]
        else:
            per_frame = h.mean(1, keepdim=True).expand(-1, t, -1)
        return h, self.mu(per_frame), self.logvar(per_frame).clamp(-10, 10)

    def decode(self, h: torch.Tensor, z: torch.Tensor, chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoding and latents (B, T, w) -> normalized faces (B, T, FACE_DIM), emotions."""
        x = h + self.latent_in(z)
        return (self.face_out(self._attend(self.face_decoder, x, True, chunk)),
                self.emotion_out(self._attend(self.emotion_decoder, x, True, chunk)))

    @torch.no_grad()
    def sample(self, speaker: torch.Tensor, samples: int, rng: torch.Generator, chunk: int = CHUNK
               ) -> tuple[torch.Tensor, torch.Tensor]:
        h, mu, logvar = self.posterior(speaker[None], chunk)
        noise = torch.randn((samples,) + mu.shape[1:], generator=rng)
        if not self.config.online:  # one latent per clip
            noise = noise[:, :1].expand_as(noise)
        else:  # one per latent window
            first = noise[:, ::self.config.latent_window]
            noise = first.repeat_interleave(self.config.latent_window, 1)[:, :mu.shape[1]]
        z = mu + noise * (0.5 * logvar).exp()
        face, emotion = self.decode(h.expand(samples, -1, -1), z, chunk)
        return self.stats.denormalize_face(face), emotion


def trans_vae_loss(model: TransVAE, speaker: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    """Two latent draws per item: both are fitted, and their distance feeds the diversity term."""
    cfg = model.config
    h, mu, logvar = model.posterior(speaker)
    std = (0.5 * logvar).exp()
    outputs = [model.decode(h, mu + torch.randn_like(mu) * std) for _ in range(2)]
    mse = nn.functional.mse_loss
    fit = sum(mse(e, emotion) + mse(f[..., :N_BLENDSHAPES], face[..., :N_BLENDSHAPES])
              + cfg.pose_weight * mse(f[..., N_BLENDSHAPES:], face[..., N_BLENDSHAPES:]) for f, e in outputs) / 2
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean()
    (f1, e1), (f2, e2) = outputs
    gap = torch.cat([f1 - f2, e1 - e2], -1).pow(2).mean(dim=(1, 2))  # per item
    diversity = torch.exp(-gap).mean()  # 1 when the two draws agree, towards 0 as they differ
    total = fit + cfg.kl_weight * kl + cfg.div_weight * diversity
    return total, {"fit": fit.item(), "kl": kl.item(), "diversity": diversity.item()}

