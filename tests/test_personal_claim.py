"""The personal claim, end to end: where each listener's smile is set by who they are (their
Agreeableness), a tiny personal model, told the personality of listeners it never saw, smiles as
much as each of them does, closer than its unknown (generic) listener; told other listeners'
personalities, it does not follow the real ones.
The corpus (tests/toy.py) is in the REACT 2024 layout with our personality.csv."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from facereact.generator.data import load_tokenized_pairs
from facereact.generator.generate import generate_pairs
from facereact.generator.model import GeneratorConfig, load_generator
from facereact.generator.sampling import Sampling
from facereact.generator.training import GeneratorTraining, train_generator
from facereact.train.schedules import TrainConfig

from tests.toy import SMILE, smiles_by_personality, toy_tokenizer


def test_a_personal_model_smiles_as_much_as_each_unseen_listener(tmp_path: Path) -> None:
    root = smiles_by_personality(tmp_path / "corpus")
    tokenizer = toy_tokenizer(root, tmp_path / "tok", epochs=20)
    train_generator(root, tokenizer, tmp_path / "gen", GeneratorConfig(width=32, heads=2, layers=1, context=16,
                                                                       dropout=0.0),
                    TrainConfig(epochs=20, batch_size=16, lr=2e-3, warmup_steps=10), GeneratorTraining(window=32),
                    progress=False, personal=True)
    generator, tok = load_generator(tmp_path / "gen")
    pairs = load_tokenized_pairs(root, "val", tok, progress=False)
    smile = lambda faces: faces[..., 25:, :][..., SMILE].mean((1, 2, 3))  # noqa: E731  after the first second
    how = Sampling(temperature=0.9, guidance=2.0)
    told = smile(generate_pairs(generator, tok, pairs, 4, how, 0, False, personal=True)["pred_face"])
    unknown = smile(generate_pairs(generator, tok, pairs, 4, how, 0, False)["pred_face"])
    real = np.array([p.listener_face[25:, SMILE].mean() for p in pairs])
    assert np.corrcoef(told, real)[0, 1] > 0.8, (told, real)
    # an unknown listener smiles as the average person: off by most of the real spread
    assert np.abs(told - real).mean() < 0.7 * np.abs(unknown - real).mean(), (told, unknown, real)
    # other listeners' personalities: the smiles follow those, not the real listeners'
    for p, other in zip(pairs, pairs[7:] + pairs[:7]):
        p.listener_personality = other.listener_personality
    swapped = smile(generate_pairs(generator, tok, pairs, 4, how, 0, False, personal=True)["pred_face"])
    assert np.corrcoef(swapped, real)[0, 1] < 0.5, (swapped, real)
