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

Personal (REACT 2026's personalised tracks, after PerFRDiff's weight editing): a hypernetwork maps
the listener's Big Five to shifts of the denoiser's last two weight matrices, W + A(p) B(p)^T of
rank SHIFT_RANK (PerFRDiff shifts whole matrices of its denoiser from an encoding of a reference
clip of the listener; the release gives personalities, and a low rank is what 5 numbers can
carry). It is trained after the generic model, which stays frozen: an unknown listener gets no
shift and is the generic model exactly, so one model serves both tracks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from facereact.baselines.clips import FeatureStats, SavedBaseline
from facereact.errors import UsageError
from facereact.layout import AU, EMOTION_DIM, FACE_DIM

KIND = "belfusion"
BEHAVIOUR_DIM = EMOTION_DIM + FACE_DIM
SHIFT_RANK = 4  # a personal model's weight shifts: rank of A(p) B(p)^T


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
    personality: int = 0  # width of the listener's personality a personal model's shifts read; 0: generic
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

    def forward(self, noisy: torch.Tensor, condition: torch.Tensor, t: torch.Tensor,
                shifts: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
        """shifts: per item, low-rank shifts (A (B, out, r), B (B, in, r)) of the last block's second
        weight and of the output weight (PersonalShift); None: the generic weights."""
        h = self.inp(torch.cat([noisy, condition, self.step_embedding(t)], -1))
        for i, block in enumerate(self.blocks):
            if shifts is None or i < len(self.blocks) - 1:
                h = h + block(h)
            else:  # the block's layers by hand, its last linear shifted
                norm, first, act, second = block
                x = act(first(norm(h)))
                h = h + second(x) + _low_rank(x, *shifts[0])
        return self.out(h) + (0 if shifts is None else _low_rank(h, *shifts[1]))


def _low_rank(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x (N, in) through per-item A B^T: (N, out), computed as (x B) A^T without forming the matrix."""
    return torch.einsum("nr,nor->no", torch.einsum("ni,nir->nr", x, b), a)


class PersonalShift(nn.Module):
    """The hypernetwork: a listener's personality (B, P) -> low-rank shifts of the denoiser's last
    block's second weight (w x w) and of its output weight (latent x w). As in LoRA, A starts at
    zero and B does not (were both zero, neither would get a gradient), so a new personal model is
    its generic one until the personal phase trains it."""

    def __init__(self, config: BeLFusionConfig, hidden: int = 64) -> None:
        super().__init__()
        w, r = config.mlp_width, SHIFT_RANK
        self.shapes = [(w, w), (config.latent, w)]  # (out, in) of each shifted weight
        self.net = nn.Sequential(nn.Linear(config.personality, hidden), nn.SiLU(),
                                 nn.Linear(hidden, sum((o + i) * r for o, i in self.shapes)))
        nn.init.zeros_(self.net[-1].weight)
        bias = torch.zeros(self.net[-1].bias.shape)
        start = 0
        for o, i in self.shapes:  # each shift's A, then its B: B's part of the bias drawn, A's zero
            start += o * r
            bias[start:start + i * r] = torch.randn(i * r) / math.sqrt(i)
            start += i * r
        with torch.no_grad():
            self.net[-1].bias.copy_(bias)

    def forward(self, personality: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        flat, out, start = self.net(personality), [], 0
        for o, i in self.shapes:
            a = flat[:, start:start + o * SHIFT_RANK].view(-1, o, SHIFT_RANK)
            start += o * SHIFT_RANK
            b = flat[:, start:start + i * SHIFT_RANK].view(-1, i, SHIFT_RANK)
            start += i * SHIFT_RANK
            out.append((a, b))
        return out


class BeLFusion(SavedBaseline):
    kind, config_type = KIND, BeLFusionConfig

    def __init__(self, config: BeLFusionConfig) -> None:
        super().__init__(config)
        self.vae = BehaviourVAE(config)
        self.speaker_encoder = nn.GRU(config.stats.speaker_dim, config.hidden, batch_first=True)
        self.start = nn.Parameter(torch.zeros(config.hidden))  # online: the first window's condition
        self.denoiser = Denoiser(config)
        self.shift = PersonalShift(config) if config.personality else None
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

    @property
    def personal(self) -> bool:
        return self.shift is not None

    def shifts_for(self, personality: torch.Tensor | None, rows: int) -> list | None:
        """The denoiser's shifts for `rows` items of one listener (personality (P,)); None: unknown."""
        if personality is None:
            return None
        if not self.personal:
            raise UsageError("this BeLFusion is generic: it takes no listener personality (train one with --personal)")
        return [(a.expand(rows, -1, -1), b.expand(rows, -1, -1))
                for a, b in self.shift(personality.float().reshape(1, -1))]

    @torch.no_grad()
    def ddim(self, condition: torch.Tensor, rng: torch.Generator, shifts: list | None = None) -> torch.Tensor:
        """(B, hidden) conditions -> (B, latent) clean latents in ddim_steps deterministic steps."""
        cfg = self.config
        x = torch.randn(condition.shape[0], cfg.latent, generator=rng)
        times = torch.linspace(cfg.diffusion_steps - 1, 0, cfg.ddim_steps).round().long()
        for i, t in enumerate(times):
            ab = self.alpha_bar[t]
            x0 = self.denoiser(x, condition, t.expand(x.shape[0]), shifts)
            eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
            ab_prev = self.alpha_bar[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
            x = ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps
        return x

    @torch.no_grad()
    def sample(self, speaker: torch.Tensor, samples: int, rng: torch.Generator,
               personality: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """personality: the listener's (P,) for a personal model; None: an unknown listener (generic)."""
        cfg = self.config
        t = speaker.shape[0]
        n = math.ceil(t / cfg.window)
        padded = torch.cat([speaker, speaker[-1:].expand(n * cfg.window - t, -1)])  # repeat the last frame
        condition = self.conditions(padded[None])[0]  # (n, hidden)
        latents = self.ddim(condition.repeat(samples, 1), rng, self.shifts_for(personality, samples * n))
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


def diffusion_loss(model: BeLFusion, speaker: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor,
                   personality: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """Best-of-k on the clean latent; the behaviour VAE is frozen (its mean is the target).
    Windows here are `window` frames of one listener; online, the speaker window before is needed,
    so training items are two windows long and only the second listener window is the target.
    personality (B, P): each item's denoiser shifted for its listener (the personal phase)."""
    cfg = model.config
    k = cfg.best_of
    with torch.no_grad():
        target, _ = model.vae.encode(behaviour(face[:, -cfg.window:], emotion[:, -cfg.window:]))
    condition = model.conditions(speaker)[:, -1]  # the condition of the last listener window
    b = target.shape[0]
    t = torch.randint(0, cfg.diffusion_steps, (b,), device=target.device).repeat_interleave(k)
    x0 = target.repeat_interleave(k, 0)
    shifts = None if personality is None else [
        (a.repeat_interleave(k, 0), c.repeat_interleave(k, 0)) for a, c in model.shift(personality)]
    predicted = model.denoiser(model.noisy(x0, t, torch.randn_like(x0)), condition.repeat_interleave(k, 0), t, shifts)
    errors = (predicted - x0).pow(2).mean(-1).view(b, k)
    best = errors.min(1).values.mean()
    return best, {"best_of_k": best.item(), "mean_of_k": errors.mean().item()}


def personal_diffusion_loss(model: BeLFusion, speaker: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor,
                            personality: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """The personal phase: diffusion_loss with each item's denoiser shifted for its listener; items
    of unknown listeners are the generic model's, which this phase does not train, and are left out."""
    keep = known > 0.5
    if not keep.any():  # no listener here is known: a zero that keeps the graph
        return sum(p.sum() for p in model.shift.parameters()) * 0.0, {"best_of_k": 0.0, "mean_of_k": 0.0}
    return diffusion_loss(model, speaker[keep], face[keep], emotion[keep], personality[keep])
