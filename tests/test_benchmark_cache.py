"""The benchmark reuses cached predictions only while they are what a fresh run would give."""
from pathlib import Path

import numpy as np
import pytest
import torch

import facereact.benchmark as bench
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig


def save_models(folder: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    tokenizer = FaceTokenizer(TokenizerConfig(levels=(4, 4), width=16, layers=1, heads=2, emotion_layers=1,
                                              reader_width=8, reader_layers=1, context=4))
    ReactionGenerator(GeneratorConfig(levels=tokenizer.levels, width=16, heads=2, layers=1, context=8)).save(folder)
    tokenizer.save(folder / "tokenizer")
    return folder


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Each generation the benchmark asks for, by its settings."""
    calls: list[tuple] = []
    real = bench.generate_split

    def generate(generator, tokenizer, root, split, samples, sampling, seed, progress=True, inputs="full",
                 personal=False):
        calls.append((samples, seed, sampling.temperature) + (() if inputs == "full" else (inputs,)))
        return real(generator, tokenizer, root, split, samples, sampling, seed, progress=False, inputs=inputs)

    monkeypatch.setattr(bench, "generate_split", generate)
    return calls


def test_cached_predictions_are_reused_only_for_the_same_model_and_settings(tiny_corpus: Path, tmp_path: Path,
                                                                            counted: list[tuple]) -> None:
    model, out = save_models(tmp_path / "gen", seed=0), tmp_path / "bench"
    first, _ = bench.benchmark(tiny_corpus, out, [model], samples=2, seed=0, progress=False)
    again, _ = bench.benchmark(tiny_corpus, out, [model], samples=2, seed=0, progress=False)
    assert len(counted) == 1 and again == first  # same model, same settings: the cache
    bench.benchmark(tiny_corpus, out, [model], samples=3, seed=0, progress=False)
    before, _ = bench.benchmark(tiny_corpus, out, [model], samples=3, seed=1, progress=False)
    assert counted[1:] == [(3, 0, 0.9), (3, 1, 0.9)]  # another K, another seed: generated anew
    save_models(model, seed=1)  # retrained in place: same folder name, other weights
    retrained, _ = bench.benchmark(tiny_corpus, out, [model], samples=3, seed=1, progress=False)
    assert len(counted) == 4
    name = next(n for n in retrained if n.startswith("Ours"))
    assert retrained[name] != before[name]


def test_the_key_follows_every_input(tiny_corpus: Path, tmp_path: Path) -> None:
    from facereact.generator.sampling import RECOMMENDED, Sampling

    model = save_models(tmp_path / "gen", seed=0)
    base = bench.prediction_key(model, tiny_corpus, "val", 10, 0, RECOMMENDED)
    assert base == bench.prediction_key(model, tiny_corpus, "val", 10, 0, RECOMMENDED)
    others = [bench.prediction_key(model, tiny_corpus, "train", 10, 0, RECOMMENDED),
              bench.prediction_key(model, tiny_corpus, "val", 5, 0, RECOMMENDED),
              bench.prediction_key(model, tiny_corpus, "val", 10, 3, RECOMMENDED),
              bench.prediction_key(model, tiny_corpus, "val", 10, 0, Sampling(guidance=1.0)),
              bench.prediction_key(model, tiny_corpus, "val", 10, 0, RECOMMENDED, "audio")]
    save_models(model, seed=0)  # the same content written again: the same key
    assert bench.prediction_key(model, tiny_corpus, "val", 10, 0, RECOMMENDED) == base
    save_models(model, seed=2)
    others.append(bench.prediction_key(model, tiny_corpus, "val", 10, 0, RECOMMENDED))
    assert len({base, *others}) == 7


def test_each_input_set_is_a_row_of_its_own(tiny_corpus: Path, tmp_path: Path, counted: list[tuple]) -> None:
    model, out = save_models(tmp_path / "gen", seed=0), tmp_path / "bench"
    results, _ = bench.benchmark(tiny_corpus, out, [model], samples=2, progress=False, inputs=("full", "audio"))
    ours = sorted(n for n in results if n.startswith("Ours"))
    assert len(ours) == 2 and ours[1].endswith("hears audio)") and results[ours[0]] != results[ours[1]]
    assert counted == [(2, 0, 0.9), (2, 0, 0.9, "audio")]
    with np.load(out / "pred_val_gen_audio.npz") as arrays:
        assert str(arrays["inputs"]) == "audio"
    bench.benchmark(tiny_corpus, out, [model], samples=2, progress=False, inputs={str(model): ("audio",)})
    assert len(counted) == 2  # cached per input set


def test_sampling_flags_change_each_generators_own_recommendation(tiny_corpus: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Online and offline generators sample with different guidance by default; a flag such as
    # --temperature changes that one setting and keeps each generator's own guidance.
    from dataclasses import replace

    from facereact.generator.sampling import recommended

    online = save_models(tmp_path / "online", seed=0)
    offline = tmp_path / "offline"
    torch.manual_seed(0)
    ReactionGenerator(GeneratorConfig(levels=(4, 4), width=16, heads=2, layers=1, context=8, future=4,
                                      offline=True)).save(offline)
    save_models(tmp_path / "scratch", seed=0)
    (tmp_path / "scratch" / "tokenizer").rename(offline / "tokenizer")
    used: dict[bool, object] = {}
    real = bench.generate_split

    def generate(generator, tokenizer, root, split, samples, sampling, seed, progress=True, inputs="full",
                 personal=False):
        used[generator.config.offline] = sampling
        return real(generator, tokenizer, root, split, samples, sampling, seed, progress=False, inputs=inputs)

    monkeypatch.setattr(bench, "generate_split", generate)
    bench.benchmark(tiny_corpus, tmp_path / "bench", [online, offline], samples=2, progress=False,
                    sampling={"temperature": 0.7})
    assert used[False] == replace(recommended(False), temperature=0.7)
    assert used[True] == replace(recommended(True), temperature=0.7)
    assert used[False].guidance != used[True].guidance


def test_the_benchmark_writes_a_behaviour_table_beside_the_react_one(tiny_corpus: Path, tmp_path: Path) -> None:
    import json

    model, out = save_models(tmp_path / "gen", seed=0), tmp_path / "bench"
    _, table = bench.benchmark(tiny_corpus, out, [model], samples=2, seed=0, progress=False)
    rows = json.loads((out / "behaviour.json").read_text())
    assert "nod lift" in table and "GroundTruth" in rows and "Random" not in rows  # Random has no faces
    assert rows["GroundTruth"]["head spectrum"] == 0.0
    ours = next(n for n in rows if n.startswith("Ours"))
    assert rows[ours]["head spectrum"] > 0.0  # an untrained generator's head is not the listeners'
    curves = json.loads((out / "behaviour_curves.json").read_text())
    assert set(curves) == set(rows) and curves[ours]["reactions"]["nod"]["curve_s"][0] == -1.0
    bench.benchmark(tiny_corpus, tmp_path / "none", [model], samples=2, progress=False, with_behaviour=False)
    assert not (tmp_path / "none" / "behaviour.json").exists()
