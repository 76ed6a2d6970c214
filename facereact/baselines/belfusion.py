"""BeLFusion, the challenge's latent-diffusion baseline (docs/baselines.md), offline and online.

1. A behaviour VAE: a GRU encodes a 50-frame window of listener behaviour (emotion + normalized
   3DMM) into a 128-d latent; a GRU decodes the latent back into the window.
2. A latent diffusion model: an MLP with skip connections predicts the clean latent from a noisy
   one, the step and the speaker's window embedding (a GRU over the speaker features), trained
   with the best-of-k loss (k = 10: of k noisy copies of each latent, only the best prediction is
   penalized, so the model keeps several answers instead of their average), sampled with DDIM in
   10 steps.
Offline, listener window w is conditioned on speaker window w; online on speaker window w - 1
(a learned start embedding for the first), so each listener frame depends only on past speaker
frames. `binarize_aus` thresholds the AU columns at 0.5, the challenge's variant.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from facereact.baselines.clips import FeatureStats, SavedBaseline
from facereact.layout import AU, EMOTION_DIM, FACE_DIM

KIND = "belfusion"
BEHAVIOUR_DIM = EMOTION_DIM + FACE_DIM


@dataclass
class BeLFusionConfig:
    online: bool = False
    window: int = 50
    latent: int = 128
    hidden: int = 128
    mlp_width: int = 256
    mlp_blocks: int = 3
    diffusion_steps: int = 100  # the training noise schedule
    ddim_steps: int = 10
    best_of: int = 10
    kl_weight: float = 1e-3
    binarize_aus: bool = False
    stats: FeatureStats = field(default_factory=FeatureStats)


class BehaviourVAE(nn.Module):
    def __init__(self, config: BeLFusionConfig) -> None:
        super().__init__()
        self.window = config.window
        self.encoder = nn.GRU(BEHAVIOUR_DIM, config.hidden, batch_first=True)
        self.mu = nn.Linear(config.hidden, config.latent)
        self.logvar = nn.Linear(config.hidden, config.latent)
        self.latent_in = nn.Linear(config.latent, config.hidden)
        self.decoder = nn.GRU(config.latent, config.hidden, batch_first=True)
        self.out = nn.Linear(config.hidden, BEHAVIOUR_DIM)

    def encode(self, behaviour: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, last = self.encoder(behaviour)
        return self.mu(last[0]), self.logvar(last[0]).clamp(-10, 10)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent) -> (B, window, BEHAVIOUR_DIM)."""
        y, _ = self.decoder(z[:, None].expand(-1, self.window, -1), torch.tanh(self.latent_in(z))[None])
        return self.out(y)


class Denoiser(nn.Module):
    """Clean latent from (noisy latent, speaker embedding, step): an MLP with skip connections."""

    def __init__(self, config: BeLFusionConfig) -> None:
        super().__init__()
        w = config.mlp_width
        self.inp = nn.Linear(config.latent + config.hidden + w, w)
        self.steps = config.diffusion_steps
        self.width = w
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(w), nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
                                    for _ in range(config.mlp_blocks))
        self.out = nn.Linear(w, config.latent)

    def step_embedding(self, t: torch.Tensor) -> torch.Tensor:
        half = self.width // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
        angles = t.float()[:, None] * freqs[None]
        return torch.cat([angles.sin(), angles.cos()], -1)

    def forward(self, noisy: torch.Tensor, condition: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.inp(torch.cat([noisy, condition, self.step_embedding(t)], -1))
        for block in self.blocks:
            h = h + block(h)
        return self.out(h)


class BeLFusion(SavedBaseline):
    kind, config_type = KIND, BeLFusionConfig

    def __init__(self, config: BeLFusionConfig) -> None:
        super().__init__(config)
        self.vae = BehaviourVAE(config)
        self.speaker_encoder = nn.GRU(config.stats.speaker_dim, config.hidden, batch_first=True)
        self.start = nn.Parameter(torch.zeros(config.hidden))  # online: the first window's condition
        self.denoiser = Denoiser(config)
        steps = torch.arange(config.diffusion_steps + 1, dtype=torch.float64) / config.diffusion_steps
        alpha_bar = torch.cos((steps + 0.008) / 1.008 * math.pi / 2) ** 2  # cosine schedule
        self.register_buffer("alpha_bar", (alpha_bar[1:] / alpha_bar[0]).float().clamp(1e-5, 1.0), persistent=False)

    def conditions(self, speaker: torch.Tensor) -> torch.Tensor:
        """(B, W * n, speaker_dim) -> (B, n, hidden): the embedding each listener window is conditioned on."""
        b, t, d = speaker.shape
        n = t // self.config.window
        _, last = self.speaker_encoder(speaker[:, :n * self.config.window].reshape(b * n, self.config.window, d))
        emb = last[0].view(b, n, -1)
        if self.config.online:  # window w hears speaker window w - 1
            emb = torch.cat([self.start.expand(b, 1, -1), emb[:, :-1]], 1)
        return emb

    def noisy(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        ab = self.alpha_bar[t][:, None]
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    @torch.no_grad()
    def ddim(self, condition: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """(B, hidden) conditions -> (B, latent) clean latents in ddim_steps deterministic steps."""
        cfg = self.config
        x = torch.randn(condition.shape[0], cfg.latent, generator=rng)
        times = torch.linspace(cfg.diffusion_steps - 1, 0, cfg.ddim_steps).round().long()
        for i, t in enumerate(times):
            ab = self.alpha_bar[t]
            x0 = self.denoiser(x, condition, t.expand(x.shape[0]))
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
            ab_prev = self.alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
            x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
        return x

    @torch.no_grad()
    def sample(self, speaker: torch.Tensor, samples: int, rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        t = speaker.shape[0]
        n = math.ceil(t / cfg.window)
        padded = torch.cat([speaker, speaker[-1:].expand(n * cfg.window - t, -1)])  # repeat the last frame
        condition = self.conditions(padded[None])[0]  # (n, hidden)
        latents = self.ddim(condition.repeat(samples, 1), rng)  # (K * n, latent)
        behaviour = self.vae.decode(latents).view(samples, n * cfg.window, BEHAVIOUR_DIM)[:, :t]
        emotion, face = behaviour[..., :EMOTION_DIM], behaviour[..., EMOTION_DIM:]
        if cfg.binarize_aus:
            emotion = emotion.clone()
            emotion[..., AU] = (emotion[..., AU] >= 0.5).float()
        return self.stats.denormalize_face(face), emotion


def behaviour(face: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
    return torch.cat([emotion, face], -1)


def vae_loss(model: BeLFusion, face: torch.Tensor, emotion: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    x = behaviour(face, emotion)
    mu, logvar = model.vae.encode(x)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    recon = (model.vae.decode(z) - x).pow(2).mean()
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean()
    return recon + model.config.kl_weight * kl, {"recon": recon.item(), "kl": kl.item()}


def diffusion_loss(model: BeLFusion, speaker: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    """Best-of-k on the clean latent; the behaviour VAE is frozen (its mean is the target).
    Windows here are `window` frames of one listener; online, the speaker window before is needed,
    so training items are two windows long and only the second listener window is the target."""
    cfg = model.config
    k = cfg.best_of
    with torch.no_grad():
        target, _ = model.vae.encode(behaviour(face[:, -cfg.window:], emotion[:, -cfg.window:]))
    condition = model.conditions(speaker)[:, -1]  # the condition of the last listener window
    b = target.shape[0]
    t = torch.randint(0, cfg.diffusion_steps, (b,), device=target.device).repeat_interleave(k)
    x0 = target.repeat_interleave(k, 0)
    predicted = model.denoiser(model.noisy(x0, t, torch.randn_like(x0)), condition.repeat_interleave(k, 0), t)
    errors = (predicted - x0).pow(2).mean(-1).view(b, k)
    best = errors.min(1).values.mean()
    return best, {"best_of_k": best.item(), "mean_of_k": errors.mean().item()}

