"""A personal BeLFusion (PerFRDiff-style weight shifts from the listener's personality): told no one
it is its generic model exactly; where each listener's smile is set by who they are, told the
personalities of listeners it never saw, it smiles as each of them does."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from facereact.baselines.belfusion import BeLFusion, BeLFusionConfig
from facereact.baselines.clips import FeatureStats, predict_split
from facereact.baselines.files import load_baseline
from facereact.baselines.training import train_belfusion
from facereact.cli import main
from facereact.data.corpus import ReactCorpus
from facereact.data.personality import PERSONALITY_FILE
from facereact.errors import DataError, UsageError
from facereact.layout import PERSONALITY_NAMES
from facereact.train.schedules import TrainConfig

from tests.toy import SMILE, smiles_by_personality

SMALL = BeLFusionConfig(online=True, window=10, latent=16, hidden=16, mlp_width=32, diffusion_steps=20, ddim_steps=4)


def _speaker(t: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(0).normal(size=(t, FeatureStats().speaker_dim)).astype(np.float32))


def test_told_no_one_it_is_the_generic_model_and_its_shifts_move_it() -> None:
    torch.manual_seed(0)
    personal = BeLFusion(BeLFusionConfig(**{**SMALL.__dict__, "personality": len(PERSONALITY_NAMES)})).eval()
    generic = BeLFusion(SMALL).eval()
    generic.load_state_dict({k: v for k, v in personal.state_dict().items() if not k.startswith("shift.")})
    who = torch.tensor([0.2, 0.9, 0.5, 0.5, 0.1])
    sample = lambda model, **kw: model.sample(_speaker(30), 2, torch.Generator().manual_seed(1), **kw)[1]  # noqa: E731
    assert torch.equal(sample(personal), sample(generic))  # unknown listener: no shift at all
    assert torch.equal(sample(personal, personality=who), sample(generic))  # a new model's shifts start at zero
    with torch.no_grad():
        personal.shift.net[-1].weight.normal_(0, 0.1)
    assert not torch.allclose(sample(personal, personality=who), sample(generic), atol=1e-4)
    assert torch.equal(sample(personal), sample(generic))
    with pytest.raises(UsageError, match="generic"):
        generic.sample(_speaker(30), 2, torch.Generator().manual_seed(1), personality=who)


@pytest.fixture(scope="module")
def smiles(tmp_path_factory) -> Path:
    return smiles_by_personality(tmp_path_factory.mktemp("smiles") / "corpus")


def test_a_personal_belfusion_smiles_as_much_as_each_unseen_listener(smiles: Path, tmp_path: Path) -> None:
    train_belfusion(smiles, tmp_path / "bf", SMALL, TrainConfig(epochs=12, batch_size=32, lr=3e-3, warmup_steps=10),
                    progress=False, personal=True)
    model = load_baseline(tmp_path / "bf")
    assert model.personal and (tmp_path / "bf" / "personal").is_dir()  # its third phase
    smile = lambda pred: pred["pred_face"][:, :, 25:][..., SMILE].mean((1, 2, 3))  # noqa: E731  after the first second
    told = smile(predict_split(model, smiles, "val", samples=4, progress=False, personal=True))
    unknown = smile(predict_split(model, smiles, "val", samples=4, progress=False))
    corpus = ReactCorpus(smiles, "val")
    real = np.array([corpus.load_pair(i).listener_face[25:, SMILE].mean() for i in range(len(corpus))])
    assert np.corrcoef(told, real)[0, 1] > 0.8, (told, real)
    assert np.abs(told - real).mean() < 0.7 * np.abs(unknown - real).mean(), (told, unknown, real)


def test_the_benchmark_scores_a_personal_belfusion_twice(smiles: Path, tmp_path: Path) -> None:
    out = tmp_path / "bf"
    assert main(["train", "belfusion", "--data", str(smiles), "--out", str(out), "--online", "--personal",
                 "--epochs", "2", "--batch-size", "8", "--warmup", "2"]) == 0
    assert main(["benchmark", "--data", str(smiles), "--models", str(out), "--samples", "2", "--no-behaviour",
                 "--out", str(tmp_path / "bench")]) == 0
    rows = json.loads((tmp_path / "bench" / "results.json").read_text())
    names = [name for name in rows if name.startswith("BeLFusion")]
    assert len(names) == 2 and names[1] == names[0] + ", personal" and "personal shifts" in names[0]


def test_a_personal_belfusion_needs_listeners_with_a_personality(smiles: Path, tmp_path: Path) -> None:
    nobody = tmp_path / "corpus"
    shutil.copytree(smiles, nobody)
    (nobody / "train" / PERSONALITY_FILE).unlink()
    with pytest.raises(DataError, match="no listener here has a personality"):
        train_belfusion(nobody, tmp_path / "none", SMALL, TrainConfig(epochs=1, batch_size=4, warmup_steps=1),
                        progress=False, personal=True)
