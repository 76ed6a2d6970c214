from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from conftest import TINY
from facereact.cli import main
from facereact.errors import UsageError
from facereact.train.averaging import WeightAverage, decay_for
from test_trainer import train, weights


def test_the_average_follows_the_weights_with_its_decay_and_leaves_them_as_they_were() -> None:
    model = nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
    average = WeightAverage(model, decay=0.9)
    values = [3.0, -1.0, 2.0, 5.0, 0.5] * 4
    for value in values:
        with torch.no_grad():
            model.weight.fill_(value)
        average.update()
    # each step's weights count 0.9 ** (steps after it), the start not at all
    shares = [0.9 ** (len(values) - 1 - i) for i in range(len(values))]
    expected = sum(s * v for s, v in zip(shares, values)) / sum(shares)
    assert torch.allclose(average.averaged()["weight"], torch.full((1, 2), expected))
    one = WeightAverage(model, decay=0.999)
    one.update()
    assert torch.allclose(one.averaged()["weight"], model.weight)  # after one step: that step's weights
    with average.applied():
        assert torch.allclose(model.weight, torch.full((1, 2), expected))
    assert torch.equal(model.weight, torch.full((1, 2), 0.5))  # its own weights again
    with pytest.raises(UsageError, match="decay"):
        WeightAverage(model, 1.0)
    # a span of the run: the same share of a short run as of a long one, never below two steps
    assert decay_for(0.75, 1280) == pytest.approx(1 - 1 / 960) and decay_for(0.75, 400) == pytest.approx(1 - 1 / 300)
    assert decay_for(0.01, 10) == 0.5


def test_a_run_with_an_average_keeps_it_and_resumes_it_exactly(tiny_corpus: Path, tmp_path: Path) -> None:
    train(tiny_corpus, tmp_path / "last")
    train(tiny_corpus, tmp_path / "straight", "--average", "0.5")
    train(tiny_corpus, tmp_path / "broken", "--average", "0.5", "--max-steps", "7")  # stops as a crash would
    train(tiny_corpus, tmp_path / "broken", "--average", "0.5", "--resume")
    last, straight, broken = (weights(tmp_path / n) for n in ("last", "straight", "broken"))
    for key in straight:
        assert torch.equal(straight[key], broken[key]), key
    # the finished run keeps the average, not the last step's weights (which its last checkpoint holds)
    assert any(not torch.equal(last[k], straight[k]) for k in last)
    # the average does not steer training: the joint phase's last steps are the same weights with it or without
    raw = [load_file(c / (c / "latest").read_text().strip() / "model.safetensors")
           for c in (tmp_path / n / "joint" / "checkpoints" for n in ("last", "straight"))]
    assert all(torch.equal(raw[0][k], raw[1][k]) for k in raw[0])
    assert main(["train", "tokenizer", "--data", str(tiny_corpus), "--out", str(tmp_path / "last"), "--epochs", "3",
                 *TINY, "--average", "0.5", "--resume"]) != 0  # its checkpoints hold no average
