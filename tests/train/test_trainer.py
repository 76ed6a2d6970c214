import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import TINY
from facereact.cli import main
from facereact.train.trainer import TrainConfig, lr_at


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def train(corpus: Path, out: Path, *extra: str) -> None:
    assert main(["train", "tokenizer", "--data", str(corpus), "--out", str(out), "--epochs", "3", *TINY, *extra]) == 0


def test_lr_schedule_warms_up_then_decays() -> None:
    cfg = TrainConfig(lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, 100, cfg) == pytest.approx(0.1) and lr_at(9, 100, cfg) == pytest.approx(1.0)
    assert lr_at(55, 100, cfg) == pytest.approx(0.55) and lr_at(100, 100, cfg) == pytest.approx(0.1)


def test_resume_reproduces_the_uninterrupted_run(tiny_corpus: Path, tmp_path: Path) -> None:
    train(tiny_corpus, tmp_path / "straight")
    train(tiny_corpus, tmp_path / "broken", "--max-steps", "7")  # stops mid-training, as a crash would
    assert not (tmp_path / "broken" / "model.safetensors").exists()
    train(tiny_corpus, tmp_path / "broken", "--resume")
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "broken")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    log = (tmp_path / "broken" / "joint" / "train_log.csv").read_text()
    assert "val_face_l1" in log and (tmp_path / "broken" / "joint" / "checkpoints" / "latest").is_file()


def test_every_epoch_leaves_a_checkpoint_and_the_newest_are_kept(tiny_corpus: Path, tmp_path: Path) -> None:
    train(tiny_corpus, tmp_path / "all", "--epochs", "8", "--keep-checkpoints", "50")
    train(tiny_corpus, tmp_path / "two", "--epochs", "8")
    kept = sorted(p.name for p in (tmp_path / "all" / "joint" / "checkpoints").glob("step-*"))
    state = json.loads((tmp_path / "all" / "joint" / "checkpoints" / kept[0] / "state.json").read_text())
    epochs, steps = state["config"]["epochs"], int(kept[-1].split("-")[1])
    assert len(kept) == epochs > 2 and [int(k.split("-")[1]) for k in kept] == \
        [steps // epochs * (e + 1) for e in range(epochs)]  # one at the end of every epoch
    assert sorted(p.name for p in (tmp_path / "two" / "joint" / "checkpoints").glob("step-*")) == kept[-2:]


def test_torchrun_two_processes_match_one(tiny_corpus: Path, tmp_path: Path) -> None:
    """The same command under torchrun --nproc_per_node=2 (gloo on CPU) gives the weights of one
    process with the same global batch, and both replicas hold identical weights."""
    train(tiny_corpus, tmp_path / "one")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29533",
           "-m", "facereact.cli", "train", "tokenizer", "--data", str(tiny_corpus), "--out", str(tmp_path / "two"),
           "--epochs", "3", *TINY]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for phase in ("joint", "emotion"):
        record = (tmp_path / "two" / phase / "replicas.json").read_text()
        assert '"processes": 2' in record and '"max_abs_difference": 0.0' in record
    one, two = weights(tmp_path / "one"), weights(tmp_path / "two")
    # Averaging two half-batch gradients instead of one full batch reorders float sums; Adam
    # amplifies that on near-zero gradients to ~1e-4. Another seed moves weights by ~1e-1.
    assert max(float((one[k] - two[k]).abs().max()) for k in one) < 1e-3
    train(tiny_corpus, tmp_path / "other_seed", "--seed", "1")
    other = weights(tmp_path / "other_seed")
    assert max(float((one[k] - other[k]).abs().max()) for k in one) > 1e-2


def test_weight_decay_spares_biases_norms_embeddings_and_position_tables() -> None:
    from facereact.generator.model import GeneratorConfig, ReactionGenerator
    from facereact.nn.position import RelativeBias
    from facereact.train.trainer import _param_groups

    model = ReactionGenerator(GeneratorConfig(levels=(4, 4), width=16, heads=2, layers=1, context=8))
    decay, no_decay = (set(map(id, g["params"])) for g in _param_groups(model, 0.1))
    tables = [m.table for m in model.modules() if isinstance(m, RelativeBias)]
    embeddings = [m.weight for m in model.modules() if isinstance(m, torch.nn.Embedding)]
    assert tables and embeddings
    assert all(id(p) in no_decay for p in tables + embeddings)
    assert id(model.audio_in.weight) in decay and id(model.audio_in.bias) in no_decay
    assert len(decay) + len(no_decay) == len(list(model.parameters()))


def test_validation_comes_every_few_epochs_and_always_at_the_last(tiny_corpus: Path, tmp_path: Path) -> None:
    """validate_every=3 over 5 epochs: the joint phase (4 epochs) validates after its 3rd and its
    last, the emotion phase (1 epoch) after its last; the run's val figures are the last phase's."""
    import csv

    from facereact.tokenizer.model import TokenizerConfig
    from facereact.tokenizer.training import TokenizerLoss, train_tokenizer

    config = TokenizerConfig(width=16, layers=1, heads=2, emotion_layers=1, reader_width=16, reader_layers=1,
                             context=8)
    schedule = TrainConfig(epochs=5, batch_size=8, lr=3e-3, warmup_steps=5, validate_every=3)
    train_tokenizer(tiny_corpus, tmp_path / "tok", config, schedule, TokenizerLoss(window=16), progress=False)

    def validated_epochs(phase: str) -> list[int]:
        with open(tmp_path / "tok" / phase / "train_log.csv") as f:
            return [int(r["epoch"]) + 1 for r in csv.DictReader(f) if r.get("val_face_l1")]

    assert validated_epochs("joint") == [3, 4] and validated_epochs("emotion") == [1]


def test_a_step_floor_runs_more_epochs_where_a_corpus_is_small(tiny_corpus: Path, tmp_path: Path) -> None:
    """min_steps: whole epochs until the floor is reached (the reader phase's floor a quarter of the
    joint one's, as its share of epochs); without it the epochs decide."""
    import csv

    assert TrainConfig(epochs=3, min_steps=10).epochs_for(4) == 3
    assert TrainConfig(epochs=3, min_steps=13).epochs_for(4) == 4
    train(tiny_corpus, tmp_path / "plain", "--epochs", "2")
    train(tiny_corpus, tmp_path / "floor", "--epochs", "2", "--min-steps", "40")

    def steps(folder: Path, phase: str) -> int:
        with open(folder / phase / "train_log.csv") as f:
            return max(int(r["step"]) for r in csv.DictReader(f))

    per_epoch = steps(tmp_path / "plain", "joint")  # 2 epochs: one joint, one reader
    assert per_epoch < 40 <= steps(tmp_path / "floor", "joint") < 40 + per_epoch
    assert steps(tmp_path / "floor", "joint") % per_epoch == 0
    assert 10 <= steps(tmp_path / "floor", "emotion") < 10 + steps(tmp_path / "plain", "emotion")
