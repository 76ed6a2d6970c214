"""Choosing the next token: temperature, top-k and top-p (nucleus), seeded."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch

from facereact.errors import UsageError


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
    # Frames over which guidance rises linearly from 1 at a conversation's first frame to
    # `guidance`. At a clip's start neither model has a listener past, and guidance extrapolating
    # between two uninformed guesses draws first faces no listener makes, which then lurch toward
    # the speaker (docs/quality-history.md). 0: full guidance from the first frame.
    guidance_ramp: int = 0
    # The guidance of a conversation whose speaker's face is not seen (audio alone), when it differs:
    # the model hears less there, and what pays with every input can cost audio alone
    # (docs/quality.md); each model chooses both on its validation split. None: `guidance`.
    guidance_no_face: float | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise UsageError("temperature must be >= 0 (0 means greedy)")
        if self.top_k is not None and self.top_k < 1:
            raise UsageError("top_k must be >= 1")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise UsageError("top_p must be in (0, 1]")
        if self.guidance < 0:
            raise UsageError("guidance must be >= 0 (1 means none)")
        if self.guidance_ramp < 0:
            raise UsageError("guidance_ramp must be >= 0 frames")
        if self.guidance_no_face is not None and self.guidance_no_face < 0:
            raise UsageError("guidance_no_face must be >= 0 (1 means none)")

    def guidance_for(self, face_seen: bool) -> float:
        """The full guidance of a conversation whose speaker's face is seen, or not."""
        return self.guidance if face_seen or self.guidance_no_face is None else self.guidance_no_face

    @property
    def guided(self) -> bool:
        """Whether some conversation samples with guidance (the listener then runs a second pass)."""
        return self.guidance_for(True) != 1.0 or self.guidance_for(False) != 1.0

    @property
    def tag(self) -> str:
        """These settings in a file or row name (a benchmark's rows under other sampling)."""
        no_face = "" if self.guidance_no_face is None else f"_a{self.guidance_no_face:g}"
        return f"t{self.temperature:g}_k{self.top_k}_p{self.top_p}_g{self.guidance:g}_r{self.guidance_ramp}{no_face}"

    def guidance_at(self, frames: torch.Tensor, face_seen: torch.Tensor | None = None) -> torch.Tensor:
        """The guidance (float32, shaped like `frames`) for rows at these frames of their
        conversations (frame 0: the first), whose speaker's face is seen where `face_seen` (bool,
        like `frames`; None: everywhere): the one place a sampler's guidance is made, each row its own."""
        full = torch.full(frames.shape, self.guidance, device=frames.device)
        if self.guidance_no_face is not None and face_seen is not None:
            full = torch.where(face_seen.to(frames.device), full, torch.full_like(full, self.guidance_for(False)))
        if self.guidance_ramp == 0:
            return full
        share = (frames.float() / self.guidance_ramp).clamp_(max=1.0)
        return torch.where(frames >= self.guidance_ramp, full, 1.0 + (full - 1.0) * share)


# The sampling `generate`, `benchmark` and the sessions use unless told otherwise. Offline,
# chosen on the demo corpus's validation split (56 clips x 10 reactions, FRCorr): plain sampling
# 1.455; guidance 2: 1.621; guidance 2 at temperature 0.9: 1.716, FRDiv 0.111 -> 0.102; with the
# emotion reader that learns a clip's start, guidance 3 over 2: 1.966 against 1.862 (seed 0), and
# on the second corpus with the ramp 1.929 against 1.900 (docs/quality-history.md).
RECOMMENDED = Sampling(temperature=0.9, guidance=3.0, guidance_ramp=10)
# The online generator (the one a robot streams) hears only the speaker's past and leans on
# guidance more: on the demo corpus, seeds 0-3, guidance 4 took FRCorr from 1.614 to 1.752, FRDist
# 92.8 -> 96.1, FRDiv 0.092 -> 0.081; confirmed on a second corpus. Ramping guidance in over a
# conversation's first 10 frames (0.4 s) then took it from 1.788 to 1.829 and FRDist from 94.0 to
# 91.8 (demo corpus, seeds 0-3; docs/quality-history.md).
# Across four worlds of other dynamics (docs/quality.md, "One recipe for every world"; two
# sampling seeds each, the choice's size) a ramp over 25 frames (1 s) ranked first of six variants
# (mean rank 1.75 ± 0.66 against 10 frames' 2.88 ± 1.36; no ramp last, 5.12): lower FRDist on every
# world, higher FRCorr on three. Measured on online generators only: the offline one keeps 10.
RECOMMENDED_ONLINE = Sampling(temperature=0.9, guidance=4.0, guidance_ramp=25)


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


def own_sampling(generator, changes: Mapping[str, float] | None = None) -> Sampling:
    """The sampling a generator (ReactionGenerator) uses unless told otherwise: the one chosen on
    its own validation split (generator/choose.py) when it has one, else recommended_for(its
    config); `changes` (e.g. the flags a user gave) over it."""
    base = generator.chosen_sampling or recommended_for(generator.config)
    if changes and "guidance" in changes and "guidance_no_face" not in changes:
        changes = {**changes, "guidance_no_face": None}  # a guidance given is every conversation's
    return replace(base, **changes) if changes else base


def guide(conditional: torch.Tensor, listener_only: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
    """Guided logits from the two models' logits: g * conditional + (1 - g) * listener-only, which
    equals the guided log-probabilities up to a per-row constant, so every sampling rule (all of
    them softmax-based) draws the same. Linear, so it may also mix the models' activations before
    an affine output layer (generator/digits.py). guidance (Sampling.guidance_at): over the leading
    dimensions, e.g. (rows,) each row its own; cast to the logits' dtype (bf16 under autocast)."""
    trailing = (1,) * (conditional.dim() - guidance.dim())
    return torch.lerp(listener_only, conditional, guidance.to(conditional.dtype).reshape(*guidance.shape, *trailing))


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
