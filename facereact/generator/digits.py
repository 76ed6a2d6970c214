"""Tokens as digits: an FSQ code is a mixed-radix number of per-dimension levels, and the
generator reads and predicts it digit by digit.

A softmax over a 390 625-code grid (5 levels x 8 dimensions) would be a 50M-parameter layer
trained on a few hundred thousand frames; a chain of small softmaxes, one per dimension and each
given the digits already chosen, is the same distribution with a few thousand outputs. A flat
codebook (VQ, LFQ) is the one-digit case, levels = (vocab,).
"""
from __future__ import annotations

import torch
from torch import nn

from facereact.generator.sampling import Sampling, guide, sample, uniforms
from facereact.tokenizer.quantizers import TokenDigits


class TokenEmbedding(TokenDigits):
    """Sum of one embedding per digit; ids from vocab on are special (BOS, MASK) with their own."""

    def __init__(self, levels: tuple[int, ...], width: int, specials: int = 0) -> None:
        super().__init__(levels)
        self.digit_embeddings = nn.ModuleList(nn.Embedding(l, width) for l in self.levels)
        self.special = nn.Embedding(specials, width) if specials else None

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        digits = self.split(tokens.clamp(max=self.vocab - 1))
        x = sum(emb(digits[..., i]) for i, emb in enumerate(self.digit_embeddings))
        if self.special is None:
            return x
        is_special = (tokens >= self.vocab).unsqueeze(-1)
        return torch.where(is_special, self.special((tokens - self.vocab).clamp(min=0)), x)


class DigitHead(TokenDigits):
    """p(token | h) = prod_i p(digit_i | h, digits before i): each digit's logits come from the
    listener state plus the embeddings of the digits already chosen, so a frame's dimensions
    stay coherent (a smile's mouth and cheeks come together) while every softmax stays small."""

    def __init__(self, levels: tuple[int, ...], width: int) -> None:
        super().__init__(levels)
        self.outputs = nn.ModuleList(
            nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, l)) if len(self.levels) > 1
            else nn.Linear(width, l) for l in self.levels)
        self.chosen = nn.ModuleList(nn.Embedding(l, width) for l in self.levels[:-1])

    def nll(self, h: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: (..., width) states and (...) target tokens -> per-position negative
        log-likelihood of the whole token, and whether every digit's argmax was right."""
        digits = self.split(tokens)
        nll = h.new_zeros(tokens.shape)
        right = torch.ones_like(tokens, dtype=torch.bool)
        for i, output in enumerate(self.outputs):
            logits = output(h).float()
            nll = nll - logits.log_softmax(-1).gather(-1, digits[..., i:i + 1])[..., 0]
            right &= logits.argmax(-1) == digits[..., i]
            if i < len(self.chosen):
                h = h + self.chosen[i](digits[..., i])
        return nll, right

    def sample(self, h: torch.Tensor, how: Sampling, rng: torch.Generator | list[torch.Generator],
               h_free: torch.Tensor | None = None) -> torch.Tensor:
        """(K, width) states -> (K,) tokens, digit by digit. h_free: the listener-only states for
        classifier-free guidance, given the same chosen digits. rng: one generator, or one per clip
        (sampling.uniforms)."""
        u = uniforms(h.shape[0], len(self.outputs), rng)
        rows = h.shape[0]
        if h_free is not None:  # both models' states in one batch: half the calls per digit
            h = torch.cat([h, h_free])
        digits = []
        for i, output in enumerate(self.outputs):
            logits = output(h)
            if h_free is not None:
                logits = guide(logits[:rows], logits[rows:], how.guidance)
            digit = sample(logits, how, u[:, i])
            digits.append(digit)
            if i < len(self.chosen):
                chosen = self.chosen[i](digit)
                h = h + (chosen if h_free is None else chosen.repeat(2, 1))
        return self.join(torch.stack(digits, -1))
