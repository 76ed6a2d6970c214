"""Parity with the challenge's reference implementation on every golden case."""
import json

import numpy as np
import pytest

from conftest import GOLDEN
from facereact.metrics import evaluate, sync_offsets

CASES = sorted(p.stem for p in GOLDEN.glob("*.npz"))


def test_golden_cases_are_present() -> None:
    assert len(CASES) == 3


@pytest.fixture(scope="module", params=CASES)
def case(request):
    data = dict(np.load(GOLDEN / f"{request.param}.npz"))
    official = json.loads((GOLDEN / f"{request.param}.official.json").read_text())
    full = json.loads((GOLDEN / f"{request.param}.official_fullsyn.json").read_text())
    return data, evaluate(**data), official, full


@pytest.mark.parametrize("key", ["FRCorr", "FRDist", "FRSyn"])
def test_exact_figures(case, key: str) -> None:
    _, ours, official, _ = case
    assert ours[key] == pytest.approx(official[key], rel=1e-6)


@pytest.mark.parametrize("key", ["FRDiv", "FRVar", "FRDvs"])
def test_diversity_figures(case, key: str) -> None:
    _, ours, official, _ = case
    assert ours[key] == pytest.approx(official[key], rel=1e-5)


def test_all_samples_synchrony_variant(case) -> None:
    data, _, _, full = case
    offsets = sync_offsets(data["pred"].astype(np.float32), data["speaker_gt"].astype(np.float32), all_samples=True)
    assert offsets.shape == data["pred"].shape[:2]
    assert offsets.mean() == pytest.approx(full["FRSyn"], rel=1e-6)
