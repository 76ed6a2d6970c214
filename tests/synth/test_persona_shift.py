"""A second synthetic corpus of other people: persona ranges shifted by a share of their width."""
import dataclasses

import numpy as np
import pytest

from facereact.errors import UsageError
from facereact.synth.persona import RANGES, sample_persona
from facereact.synth.writer import SynthConfig


def test_shift_moves_every_trait_by_its_share_of_the_range() -> None:
    """The same draws, each trait moved by shift x its range's width; the voice's pitch unchanged."""
    for seed in range(5):
        base = sample_persona(np.random.default_rng(seed))
        moved = sample_persona(np.random.default_rng(seed), shift=0.15)
        for trait, (lo, hi) in RANGES.items():
            assert getattr(moved, trait) - getattr(base, trait) == pytest.approx(0.15 * (hi - lo), abs=1e-12)
            assert lo <= getattr(base, trait) <= hi
        assert moved.pitch_hz == base.pitch_hz
    assert {f.name for f in dataclasses.fields(base)} == set(RANGES) | {"pitch_hz"}


def test_shift_is_bounded() -> None:
    with pytest.raises(UsageError, match="persona-shift"):
        SynthConfig(persona_shift=1.5)
