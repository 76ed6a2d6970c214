"""The emotion reader learns a clip's start from windows taken there; `train reader` refits it alone."""
from pathlib import Path

import numpy as np
import pytest
import torch

from facereact.cli import main
from facereact.layout import EMOTION_DIM, FACE_DIM
from facereact.tokenizer.model import FaceTokenizer
from facereact.tokenizer.training import EmotionTask, TokenizerLoss, emotion_error

from test_emotion import TINY


def test_each_window_skips_its_own_first_frames() -> None:
    target = torch.zeros(2, 4, 1)
    pred = torch.tensor([[9.0, 9.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]])[..., None]
    # the first window skips 2 frames (errors 1, 1: mean 1), the second none (2, 2, 2, 2: mean 2);
    # each window's mean counts alike, so that processes splitting the windows average to the same
    loss, l1 = emotion_error(pred, target, squared_weight=0.0, skip=torch.tensor([2, 0]))
    assert loss.item() == pytest.approx(1.5) and l1.item() == pytest.approx(1.5)
    loss, _ = emotion_error(pred, target, squared_weight=1.0, skip=torch.tensor([2, 0]))
    assert loss.item() == pytest.approx(1.5 + (1 + 4) / 2)
    halves = [emotion_error(pred[i:i + 1], target[i:i + 1], 1.0, skip=torch.tensor([s]))[0] for i, s in enumerate((2, 0))]
    assert loss.item() == pytest.approx(sum(h.item() for h in halves) / 2)
    same, _ = emotion_error(pred[:1], target[:1], 1.0, skip=torch.tensor([2]))
    assert same.item() == pytest.approx(emotion_error(pred[:1], target[:1], 1.0, skip=2)[0].item())


def clips(n: int = 3, t: int = 200) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [(rng.normal(size=(t, FACE_DIM)).astype(np.float32), rng.random((t, EMOTION_DIM)).astype(np.float32))
            for _ in range(n)]


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_a_share_of_reader_windows_starts_at_a_clip_start(share: float) -> None:
    torch.manual_seed(0)
    task = EmotionTask(FaceTokenizer(TINY), clips(), [], TokenizerLoss(window=32, clip_starts=share),
                       [1.0] * EMOTION_DIM)
    _, _, starts = task.make_batch(list(range(200)), list(range(200)), torch.device("cpu"))
    at_start = (starts == 0).float().mean().item()
    assert (at_start < 0.05) if share == 0 else (0.4 < at_start < 0.6)


def test_a_window_at_a_clip_start_is_scored_from_its_first_frame() -> None:
    torch.manual_seed(0)
    tokenizer = FaceTokenizer(TINY)
    task = EmotionTask(tokenizer, clips(), [], TokenizerLoss(window=32), [1.0] * EMOTION_DIM)
    face, emotion, _ = task.make_batch([0], [0], torch.device("cpu"))
    at_start, later = torch.tensor([0]), torch.tensor([5])
    emotion_late = emotion.clone()
    emotion_late[:, :3] += 10.0  # a wrong label in the first frames counts only at a clip's start
    with torch.no_grad():
        plain = task.loss(task.model, (face, emotion, later))[0].item()
        assert task.loss(task.model, (face, emotion_late, later))[0].item() == pytest.approx(plain, rel=1e-6)
        assert task.loss(task.model, (face, emotion_late, at_start))[0].item() > plain + 1.0


def test_train_reader_keeps_the_tokens_and_changes_only_the_reader(tiny_corpus: Path, tmp_path: Path) -> None:
    small = ["--width", "16", "--layers", "1", "--heads", "2", "--context", "8", "--warmup", "2", "--window", "16",
             "--batch-size", "8"]
    tok, new = tmp_path / "tok", tmp_path / "new"
    assert main(["train", "tokenizer", "--data", str(tiny_corpus), "--out", str(tok), *small, "--epochs", "2"]) == 0
    assert main(["train", "reader", "--data", str(tiny_corpus), "--tokenizer", str(tok), "--out", str(new),
                 "--epochs", "2", "--window", "16", "--batch-size", "8", "--warmup", "2"]) == 0
    before, after = FaceTokenizer.load(tok), FaceTokenizer.load(new)
    b, a = before.state_dict(), after.state_dict()
    reader = {k for k in b if k.startswith("emotion_reader.")}
    assert reader and all(torch.equal(b[k], a[k]) for k in b if k not in reader)
    assert not all(torch.equal(b[k], a[k]) for k in reader)
    face = torch.randn(1, 20, FACE_DIM)
    assert torch.equal(before.encode(face), after.encode(face))


def test_the_reader_schedule_is_the_emotion_phase_of_the_tokenizers() -> None:
    from dataclasses import replace

    from facereact.tokenizer.training import JOINT_SHARE, READER_SCHEDULE, SCHEDULE, reader_floor

    assert READER_SCHEDULE == replace(SCHEDULE, epochs=SCHEDULE.epochs - round(SCHEDULE.epochs * JOINT_SHARE),
                                      min_steps=reader_floor(SCHEDULE.min_steps))
