"""Choosing the next token: temperature, top-k and top-p (nucleus), seeded."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch

from facereact.data.errors import UsageError


@dataclass(frozen=True)
class Sampling:
    """How each next token is drawn. With a digit head (generator/digits.py) temperature, top-k,
    top-p and guidance apply to each digit's small softmax in turn."""

    temperature: float = 1.0
    top_k: int | None = None  # keep the k most likely tokens
    top_p: float | None = None  # keep the smallest set whose probability reaches p
    # Classifier-free guidance: log p(x | speaker) + (g - 1) (log p(x | speaker) - log p(x | listener
    # alone)) (`guide`). 1 is plain sampling; above 1 favours what the speaker explains (costs a
    # second pass).
    guidance: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise UsageError("temperature must be >= 0 (0 means greedy)")
        if self.top_k is not None and self.top_k < 1:
            raise UsageError("top_k must be >= 1")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise UsageError("top_p must be in (0, 1]")
        if self.guidance < 0:
            raise UsageError("guidance must be >= 0 (1 means none)")


# The sampling `generate`, `benchmark` and the sessions use unless told otherwise, chosen on the
# demo corpus's validation split (offline generator, 56 clips x 10 reactions, FRCorr): plain
# sampling 1.455; guidance 2: 1.621; guidance 2 at temperature 0.9: 1.716 (seed 1: 1.683), FRDiv
# 0.111 -> 0.102; temperature 0.8 or guidance 2.5 score lower (1.662, 1.667).
RECOMMENDED = Sampling(temperature=0.9, guidance=2.0)
# The online generator (the one a robot streams) hears only the speaker's past and leans on
# guidance more: on the demo corpus, seeds 0-3, guidance 4 took FRCorr from 1.614 to 1.752, FRDist
# 92.8 -> 96.1, FRDiv 0.092 -> 0.081; confirmed on a second corpus (docs/quality.md).
RECOMMENDED_ONLINE = Sampling(temperature=0.9, guidance=4.0)


def recommended(offline: bool, changes: Mapping[str, float] | None = None) -> Sampling:
    """The sampling a generator of that setting uses unless told otherwise, with `changes` (some of
    Sampling's fields, e.g. the flags a user gave) applied over it."""
    base = RECOMMENDED if offline else RECOMMENDED_ONLINE
    return replace(base, **changes) if changes else base


def recommended_for(config, changes: Mapping[str, float] | None = None) -> Sampling:
    """recommended() for a generator of this config (GeneratorConfig): one whose guidance was
    distilled into its weights samples with guidance 1 (a single pass) unless told otherwise."""
    base = recommended(config.offline)
    if config.distilled_guidance != 1.0:
        base = replace(base, guidance=1.0)
    return replace(base, **changes) if changes else base


def guide(conditional: torch.Tensor, listener_only: torch.Tensor, guidance: float) -> torch.Tensor:
    """Guided logits from the two models' logits: g * conditional + (1 - g) * listener-only, which
    equals the guided log-probabilities up to a per-row constant, so every sampling rule (all of
    them softmax-based) draws the same. Linear, so it may also mix the models' activations before
    an affine output layer (generator/digits.py)."""
    return torch.lerp(listener_only, conditional, guidance)


def uniforms(rows: int, count: int, generator: torch.Generator | list[torch.Generator]) -> torch.Tensor:
    """(rows, count) uniform draws in [0, 1). A list of generators splits the rows into that many
    equal groups (one per clip, clip-major), each drawn from its own generator, so a clip's draws
    do not depend on the clips beside it."""
    if isinstance(generator, torch.Generator):
        return torch.rand(rows, count, generator=generator)
    group = rows // len(generator)
    return torch.cat([torch.rand(group, count, generator=g) for g in generator])


def sample(logits: torch.Tensor, how: Sampling, u: torch.Tensor) -> torch.Tensor:
    """(K, V) logits and (K,) uniform draws -> (K,) token ids, by inverting each row's cumulative
    distribution (the first token whose cumulative probability exceeds u): one batched operation
    for every row, where torch.multinomial costs a call per generator."""
    if how.temperature == 0:
        return logits.argmax(-1)
    logits = (logits if logits.dtype == torch.float32 else logits.float()) / how.temperature
    if how.top_k is not None and how.top_k < logits.shape[-1]:
        kth = torch.topk(logits, how.top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if how.top_p is not None and how.top_p < 1:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) >= how.top_p  # keep the token that crosses p
        logits = logits.scatter(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    cdf = logits.softmax(-1).cumsum(-1)
    # u * total < total, so some token's cumulative probability exceeds it; tokens of zero
    # probability add nothing to the cumulative sum and are never the first to exceed it.
    # searchsorted(right) counts the entries <= u * total: the first index that exceeds it.
    index = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None], right=True)[:, 0]
    return index.clamp_(max=logits.shape[-1] - 1)
