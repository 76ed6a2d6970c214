"""Tokens as digits: an FSQ code is a mixed-radix number of per-dimension levels, and the
generator reads and predicts it digit by digit.

A softmax over a 390 625-code grid (5 levels x 8 dimensions) would be a 50M-parameter layer
trained on a few hundred thousand frames; a chain of small softmaxes, one per dimension and each
given the digits already chosen, is the same distribution with a few thousand outputs. A flat
codebook (VQ, LFQ) is the one-digit case, levels = (vocab,).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facereact.generator.sampling import Sampling, guide, sample, uniforms
from facereact.nn import fast
from facereact.tokenizer.quantizers import TokenDigits


class TokenEmbedding(TokenDigits):
    """Sum of one embedding per digit; ids from vocab on are special (BOS, MASK) with their own."""

    def __init__(self, levels: tuple[int, ...], width: int, specials: int = 0) -> None:
        super().__init__(levels)
        self.digit_embeddings = nn.ModuleList(nn.Embedding(l, width) for l in self.levels)
        self.special = nn.Embedding(specials, width) if specials else None
        # where each digit's rows start in the tables stacked: every digit is read in one lookup
        starts = torch.cumsum(torch.tensor((0,) + self.levels[:-1]), 0)
        self.register_buffer("_starts", starts, persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        digits = self.split(tokens.clamp(max=self.vocab - 1))
        table = torch.cat([emb.weight for emb in self.digit_embeddings])
        x = F.embedding(digits + self._starts, table).sum(-2)
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

    def digit_logits(self, h: torch.Tensor, tokens: torch.Tensor) -> list[torch.Tensor]:
        """Teacher forcing: (..., width) states and (...) target tokens -> each digit's logits
        (..., levels_i) (float32) given the target's digits before it."""
        digits = self.split(tokens)
        out = []
        for i, output in enumerate(self.outputs):
            out.append(output(h).float())
            if i < len(self.chosen):
                h = h + self.chosen[i](digits[..., i])
        return out

    def nll(self, h: torch.Tensor, tokens: torch.Tensor,
            logits: list[torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: (..., width) states and (...) target tokens -> per-position negative
        log-likelihood of the whole token, and whether every digit's argmax was right (from
        `logits`, digit_logits', when already computed)."""
        digits = self.split(tokens)
        nll = h.new_zeros(tokens.shape, dtype=torch.float32)
        right = torch.ones_like(tokens, dtype=torch.bool)
        for i, logit in enumerate(self.digit_logits(h, tokens) if logits is None else logits):
            nll = nll - logit.log_softmax(-1).gather(-1, digits[..., i:i + 1])[..., 0]
            right &= logit.argmax(-1) == digits[..., i]
        return nll, right

    @torch.no_grad()  # updates its activations in place; sampling has no gradient anyway
    def sample(self, h: torch.Tensor, how: Sampling, rng: torch.Generator | list[torch.Generator],
               h_free: torch.Tensor | None = None, guidance: torch.Tensor | None = None) -> torch.Tensor:
        """(K, width) states -> (K,) tokens, digit by digit. h_free: the listener-only states for
        classifier-free guidance, given the same chosen digits, with `guidance` (K,) each row's
        strength (Sampling.guidance_at). rng: one generator, or one per clip (sampling.uniforms).

        This is the streaming hot path, so it is written for few operations, not for reading like
        `nll` (tests check the two agree): every digit's first layer is applied to the state once,
        for all digits together, and a chosen digit adds its embedding's image under the later
        digits' first layers (a precomputed table); guidance mixes the two models' hidden
        activations, which equals mixing their logits since the last layer is affine."""
        rows = h.shape[0]
        u = uniforms(rows, len(self.outputs), rng)
        both = h if h_free is None else torch.cat([h, h_free])
        g = guidance
        if h_free is not None and (g is None or g.shape != (rows,)):
            raise ValueError(f"guided sampling needs one guidance per row ({rows}), got "
                             f"{None if g is None else tuple(g.shape)}")
        if len(self.levels) == 1:
            logits = self.outputs[0](both)
            return sample(logits if h_free is None else guide(logits[:rows], logits[rows:], g), how, u[:, 0])
        weight, bias, images = self.fused()
        width = h.shape[-1]
        pre = torch.addmm(bias, both, weight.t())  # (rows [x 2], digits * width)
        if fast.enabled(pre) and how.top_k is None and how.top_p is None:  # the loop below, compiled
            return fast.sample_digits(fast.arrays(self, _compiled_weights), pre, rows, None if h_free is None else g, how.temperature, u)
        grouped = pre.view(1 if h_free is None else 2, rows, -1)
        digits = []
        for i, output in enumerate(self.outputs):
            hidden = output[1](pre[:, i * width:(i + 1) * width])
            if h_free is not None:
                hidden = guide(hidden[:rows], hidden[rows:], g)
            digit = sample(output[2](hidden), how, u[:, i])
            digits.append(digit)
            if i < len(images):
                grouped[..., (i + 1) * width:] += images[i][digit]
        return self.join(torch.stack(digits, -1))

    def fused(self) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Every digit's first layer stacked (digits * width, width) with its bias, and per chosen
        digit the (levels_i, later digits * width) table of its embedding through the later digits'
        first layers. Rebuilt whenever a weight has changed (training between generations)."""
        params = [p for output in self.outputs for p in (output[0].weight, output[0].bias)] + \
            [c.weight for c in self.chosen]
        key = tuple((p.data_ptr(), p._version) for p in params)
        if getattr(self, "_fused_key", None) != key:
            with torch.inference_mode(False), torch.no_grad():
                weight = torch.cat([output[0].weight for output in self.outputs])
                bias = torch.cat([output[0].bias for output in self.outputs])
                width = weight.shape[1]
                images = [c.weight @ weight[(i + 1) * width:].t() for i, c in enumerate(self.chosen)]
            self._fused_key, self._fused_value = key, (weight, bias, images)
        return self._fused_value


def _compiled_weights(head: DigitHead) -> list:
    """The head's sampling weights as the compiled loop takes them (nn/fast.py, sample_digits):
    each digit's output layer padded to the most levels, the chosen digits' images packed, and
    the digits' place values (least significant first)."""
    weight, bias, images = head.fused()
    width, count = weight.shape[1], len(head.levels)
    most = max(head.levels)
    w2 = np.zeros((count, most, width), np.float32)
    b2 = np.zeros((count, most), np.float32)
    for i, output in enumerate(head.outputs):
        if getattr(output[1], "approximate", "none") != "none":
            raise ValueError("the compiled sampling covers the exact GELU")
        w2[i, :head.levels[i]] = output[2].weight.detach().numpy()
        b2[i, :head.levels[i]] = output[2].bias.detach().numpy()
    packed = np.zeros((max(count - 1, 1), most, max(count - 1, 1) * width), np.float32)
    for i, image in enumerate(images):
        packed[i, :image.shape[0], :image.shape[1]] = image.detach().numpy()
    basis = np.cumprod((1, *head.levels[:-1])).astype(np.int64)
    return [w2, b2, np.array(head.levels, np.int64), packed, basis]
