"""Quantizers behind one interface: FSQ (written here), VQ and LFQ (vector-quantize-pytorch).

Every quantizer maps (..., dim) vectors to (..., dim) quantized vectors and integer codes and
returns one QuantizedResult, so the tokenizer never needs to know which one it holds. Every
quantizer names its `levels`, the digits its codes are read in: FSQ's per-dimension levels, or
one level of codebook_size for a flat codebook (VQ, LFQ).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from facereact.errors import UsageError


@dataclass
class QuantizedResult:
    vectors: torch.Tensor  # (..., dim) quantized, with a straight-through gradient to the input
    codes: torch.Tensor  # (...) int64 token ids in [0, codebook_size)
    aux_loss: torch.Tensor  # scalar to add to the training loss (0 for FSQ)


class TokenDigits(nn.Module):
    """Token ids <-> (..., D) level indices: a code is the mixed-radix number of its per-dimension
    levels, dimension 0 the fastest-changing digit. FSQ's codes, and the digits the generator
    reads and predicts."""

    def __init__(self, levels: tuple[int, ...]) -> None:
        super().__init__()
        self.levels = tuple(int(l) for l in levels)
        self.vocab = math.prod(self.levels)
        self.register_buffer("_levels", torch.tensor(self.levels), persistent=False)
        self.register_buffer("_basis", torch.cumprod(torch.tensor((1,) + self.levels[:-1]), 0), persistent=False)

    def split(self, tokens: torch.Tensor) -> torch.Tensor:
        return (tokens.long().unsqueeze(-1) // self._basis) % self._levels

    def join(self, digits: torch.Tensor) -> torch.Tensor:
        return (digits.long() * self._basis).sum(-1)


class Quantizer(nn.Module):
    dim: int
    codebook_size: int

    @property
    def levels(self) -> tuple[int, ...]:
        return (self.codebook_size,)

    def codes_to_vectors(self, codes: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class FSQ(Quantizer):
    """Finite scalar quantization (Mentzer et al. 2023).

    Each of len(levels) dimensions is bounded with tanh and rounded to L_i levels in [-1, 1]
    (straight-through gradient); the code is the mixed-radix number of the level indices.
    Even L needs a half-step offset so that the L levels are symmetric around 0.
    """

    def __init__(self, levels: tuple[int, ...] = (8, 5, 5, 5), eps: float = 1e-3, saturation_weight: float = 0.1,
                 usage_temperature: float = 0.5) -> None:
        super().__init__()
        if not levels or any(l < 2 for l in levels):
            raise UsageError(f"every FSQ level must be at least 2, got {levels}")
        self._levels = tuple(int(l) for l in levels)
        self.dim = len(self._levels)
        self.codebook_size = math.prod(self._levels)
        self.eps = eps
        self.saturation_weight = saturation_weight
        self.usage_temperature = usage_temperature
        self.digits = TokenDigits(self._levels)
        lv = torch.tensor(self.levels, dtype=torch.float32)
        self.register_buffer("_half_width", (lv - 1) / 2, persistent=False)
        # Even L: shift by half a step so that rounding yields exactly L values.
        self.register_buffer("_offset", torch.where(lv % 2 == 0, 0.5, 0.0), persistent=False)

    @property
    def levels(self) -> tuple[int, ...]:
        return self._levels

    def _bound(self, z: torch.Tensor) -> torch.Tensor:
        """Squash to (-(L-1)/2, (L-1)/2) around the offset so that round() gives L values."""
        half_l = self._half_width * (1 + self.eps)
        shift = torch.atanh(self._offset / half_l)
        return torch.tanh(z + shift) * half_l - self._offset

    def forward(self, z: torch.Tensor) -> QuantizedResult:
        bounded = self._bound(z.float())
        rounded = bounded + (torch.round(bounded) - bounded).detach()  # straight-through
        indices = (rounded.detach() + self._offset + self._half_width).round().long()  # 0..L-1 per dim
        vectors = (rounded + self._offset) / self._half_width
        codes = self.digits.join(indices)
        # Deep in tanh's tails the straight-through gradient vanishes and the codes freeze at the
        # level corners (seen here: 13 of 1000 codes used). A penalty on |z| beyond 2 keeps the
        # encoder where moving z still moves the level; tanh(2) = 0.96 leaves every level reachable.
        saturation = torch.relu(z.float().abs() - 2.0).pow(2).mean() * self.saturation_weight
        return QuantizedResult(vectors.to(z.dtype), codes, saturation)

    def usage_deficit(self, z: torch.Tensor) -> torch.Tensor:
        """1 - H(batch code distribution) / log(codebook size), from soft level assignments of the
        encoder's outputs z (..., dim). Training adds it (TokenizerLoss.usage_weight).

        Rounding alone lets the encoder crowd the frames into a few hundred of the grid's cells;
        this term (LFQ's codebook entropy, computed here on FSQ's grid) spreads them. Each frame's
        soft code distribution is the product of its per-dimension level softmaxes, which for a
        1000-code grid is small enough to form exactly; a grid over JOINT_ENTROPY_MAX_CODES spreads
        each dimension's levels instead.
        """
        flat = self._bound(z.float()).reshape(-1, self.dim)
        per_dim = []
        for d, levels in enumerate(self._levels):
            centres = torch.arange(levels, device=flat.device, dtype=flat.dtype) - self._half_width[d] - self._offset[d]
            per_dim.append(torch.softmax(-(flat[:, d:d + 1] - centres) ** 2 / self.usage_temperature ** 2, dim=-1))
        if self.codebook_size > JOINT_ENTROPY_MAX_CODES:
            # A big grid's joint distribution does not fit in memory (390 625 codes x a batch of
            # frames): spread each dimension's levels instead, the sum of marginal entropies.
            entropy = sum(_entropy(*_batch_total(p)) for p in per_dim)
            return 1.0 - entropy / math.log(self.codebook_size)
        joint = flat.new_ones(flat.shape[0], 1)
        for p in per_dim:  # mixed radix: dimension 0 is the fastest-changing digit of the code
            joint = (p[:, :, None] * joint[:, None, :]).reshape(flat.shape[0], -1)
        return 1.0 - _entropy(*_batch_total(joint)) / math.log(self.codebook_size)

    def codes_to_vectors(self, codes: torch.Tensor) -> torch.Tensor:
        indices = self.digits.split(codes)
        return (indices.float() - self._half_width) / self._half_width

    def vectors_to_codes(self, vectors: torch.Tensor) -> torch.Tensor:
        """Inverse of codes_to_vectors for vectors on the grid."""
        indices = torch.round(vectors * self._half_width + self._half_width).long()
        return self.digits.join(indices)


JOINT_ENTROPY_MAX_CODES = 20000  # above this the usage term spreads each dimension on its own


def _batch_total(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed soft assignments (N, C) -> (C,) and N, over every process under torchrun."""
    total, count = p.sum(0), p.new_tensor(float(p.shape[0]))
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # The entropy of the whole batch's distribution, not of each shard's: under torchrun
        # the term (and so the run) then equals the one-process run with the same global batch.
        from torch.distributed.nn.functional import all_reduce

        total, count = all_reduce(total), all_reduce(count)
    return total, count


def _entropy(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    mean = total / count
    return -(mean * torch.log(mean.clamp_min(1e-12))).sum()


class VQ(Quantizer):
    """Learned codebook with EMA updates and k-means init (vector-quantize-pytorch)."""

    def __init__(self, dim: int = 16, codebook_size: int = 1000, commitment_weight: float = 0.25) -> None:
        super().__init__()
        from vector_quantize_pytorch import VectorQuantize

        self.dim = dim
        self.codebook_size = codebook_size
        self.vq = VectorQuantize(dim=dim, codebook_size=codebook_size, decay=0.99, kmeans_init=True,
                                 kmeans_iters=10, threshold_ema_dead_code=2, commitment_weight=commitment_weight)

    def forward(self, z: torch.Tensor) -> QuantizedResult:
        shape = z.shape
        vectors, codes, loss = self.vq(z.reshape(-1, 1, shape[-1]).float())
        return QuantizedResult(vectors.reshape(shape).to(z.dtype), codes.reshape(shape[:-1]), loss.sum())

    def codes_to_vectors(self, codes: torch.Tensor) -> torch.Tensor:
        return self.vq.get_output_from_indices(codes.reshape(-1, 1)).reshape(*codes.shape, self.dim)


class LFQ(Quantizer):
    """Lookup-free quantization (MAGVIT-v2): the sign of each of log2(size) dims, plus an entropy penalty."""

    def __init__(self, codebook_size: int = 1024, entropy_weight: float = 0.1) -> None:
        super().__init__()
        from vector_quantize_pytorch import LFQ as _LFQ

        bits = int(round(math.log2(codebook_size)))
        if 2 ** bits != codebook_size:
            raise UsageError(f"LFQ needs a power-of-two codebook size, got {codebook_size}")
        self.dim = bits
        self.codebook_size = codebook_size
        self.lfq = _LFQ(dim=bits, codebook_size=codebook_size, entropy_loss_weight=entropy_weight,
                        commitment_loss_weight=0.25)

    def forward(self, z: torch.Tensor) -> QuantizedResult:
        shape = z.shape
        out = self.lfq(z.reshape(-1, 1, shape[-1]).float())
        return QuantizedResult(out.quantized.reshape(shape).to(z.dtype), out.indices.reshape(shape[:-1]),
                               out.entropy_aux_loss.sum())

    def codes_to_vectors(self, codes: torch.Tensor) -> torch.Tensor:
        return self.lfq.indices_to_codes(codes.reshape(-1, 1)).reshape(*codes.shape, self.dim)


def build_quantizer(kind: str, levels: tuple[int, ...] = (8, 5, 5, 5), codebook_size: int = 1000,
                    vq_dim: int = 16) -> Quantizer:
    """fsq (levels), vq (codebook_size, vq_dim) or lfq (codebook_size, a power of two)."""
    if kind == "fsq":
        return FSQ(levels)
    if kind == "vq":
        return VQ(vq_dim, codebook_size)
    if kind == "lfq":  # sign bits: the nearest power of two to the asked size
        return LFQ(2 ** round(math.log2(codebook_size)))
    raise UsageError(f"unknown quantizer '{kind}', expected fsq, vq or lfq")


def usage_stats(codes: torch.Tensor, codebook_size: int) -> dict[str, float]:
    """Share of the codebook used and perplexity of the code distribution."""
    counts = torch.bincount(codes.reshape(-1), minlength=codebook_size).double()
    p = counts / counts.sum().clamp(min=1)
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return {"usage": float((counts > 0).double().mean()), "perplexity": float(entropy.exp())}
