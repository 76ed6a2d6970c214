from pathlib import Path

import numpy as np
import pytest
import torch

from facereact.cli import main
from facereact.data.corpus import ReactCorpus
from facereact.layout import EMOTION_DIM, FACE_DIM, FACE_GROUPS
from facereact.tokenizer.bench import format_table
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig, grouped_l1, grouped_squared
from facereact.tokenizer.training import boundary_jumps, emotion_error

TINY = TokenizerConfig(width=16, layers=1, heads=2, emotion_layers=1, context=8)


@pytest.mark.parametrize("kind", ["fsq", "vq", "lfq"])
def test_shapes_and_save_load(kind: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = FaceTokenizer(TokenizerConfig(**{**TINY.__dict__, "quantizer": kind})).eval()
    face = torch.randn(2, 40, FACE_DIM)
    out = model(face)
    assert out.face.shape == (2, 40, FACE_DIM) and out.emotion.shape == (2, 40, EMOTION_DIM)
    assert out.quantized.codes.shape == (2, 40) and int(out.quantized.codes.max()) < model.vocab_size
    model.save(tmp_path)
    again = FaceTokenizer.load(tmp_path)
    assert torch.equal(again.encode(face), model.encode(face))
    torch.testing.assert_close(again.decode(model.encode(face))[0], model.decode(model.encode(face))[0])


def test_tokens_are_causal() -> None:
    """A speaker's face tokens are online-safe: changing frames after t leaves tokens 0..t alone."""
    torch.manual_seed(0)
    model = FaceTokenizer(TINY).eval()
    face = torch.randn(1, 60, FACE_DIM)
    changed = face.clone()
    changed[:, 30:] += 3.0
    assert torch.equal(model.encode(face)[:, :30], model.encode(changed)[:, :30])
    decoded = model.decode(model.encode(face))[0]
    decoded_changed = model.decode(model.encode(changed))[0]
    torch.testing.assert_close(decoded[:, :30], decoded_changed[:, :30])


def test_grouped_loss_weighs_regions_equally() -> None:
    target = torch.zeros(1, 5, FACE_DIM)
    mouth_error = target.clone()
    mouth_error[..., 26:43] = 1.0  # the whole 17-channel mouth region wrong
    blink_error = target.clone()
    blink_error[..., 8:10] = 1.0  # the 2-channel blink region wrong
    assert grouped_l1(mouth_error, target)[0] == pytest.approx(grouped_l1(blink_error, target)[0])


def test_squared_term_makes_a_brief_excursion_cost_more_than_a_steady_offset() -> None:
    """Same L1 either way: a blink region off by 1.0 in 1 frame of 10, or by 0.1 in all 10.
    The squared term must charge the brief excursion ten times more (the blink L1 lets go)."""
    target = torch.zeros(1, 10, FACE_DIM)
    brief, steady = target.clone(), target.clone()
    brief[:, 3, 8:10] = 1.0
    steady[..., 8:10] = 0.1
    assert grouped_l1(brief, target)[0] == pytest.approx(grouped_l1(steady, target)[0])
    assert grouped_squared(brief, target) == pytest.approx(10 * grouped_squared(steady, target))
    assert grouped_squared(brief, target) == pytest.approx(1.0 / 10 / len(FACE_GROUPS))  # mean over regions


def test_whole_clip_decoding_has_no_block_jumps(tmp_path: Path) -> None:
    from facereact.synth.writer import SynthConfig, synthesize_corpus

    root = synthesize_corpus(tmp_path / "c", SynthConfig(sessions=3, clips_per_session=1, frames=200), progress=False)
    clips = [ReactCorpus(root, "val").load_person(c) for c in ReactCorpus(root, "val").clips()]
    torch.manual_seed(0)
    model = FaceTokenizer(TINY)
    jumps = boundary_jumps(model, clips, block=32)
    # Decoding independent blocks restarts the context at every boundary: a jump there. Decoding
    # the whole clip treats boundary frames like any other frame.
    assert jumps["jump_ratio_blocks"] > 1.5
    assert jumps["jump_ratio_whole"] < 1.3


def test_tokenize_cli(tmp_path: Path) -> None:
    from facereact.synth.writer import SynthConfig, synthesize_corpus

    root = synthesize_corpus(tmp_path / "c", SynthConfig(sessions=3, clips_per_session=1, frames=80), progress=False)
    torch.manual_seed(0)
    FaceTokenizer(TINY).save(tmp_path / "tok")
    assert main(["tokenize", "--model", str(tmp_path / "tok"), "--data", str(root), "--split", "val",
                 "--out", str(tmp_path / "tokens")]) == 0
    files = sorted((tmp_path / "tokens" / "val").rglob("*.npy"))
    assert len(files) == 2
    tokens = np.load(files[0])
    # the default grid (5^8 codes) does not fit in int16
    assert tokens.shape == (80,) and tokens.dtype == np.int32 and tokens.max() < 5 ** 8
    assert main(["tokenize", "--model", str(tmp_path / "nowhere"), "--data", str(root), "--out", str(tmp_path)]) == 2


def test_bench_table_lists_every_quantizer() -> None:
    row = {"vocab": 1000, "face_l1": 0.01, "mean_face_l1": 0.05, "emotion_l1": 0.02, "usage": 0.9,
           "perplexity": 500.0, "train_seconds": 60.0, **{f"l1_{g}": 0.01 for g in
                                                          ("brow", "cheek", "eye_blink", "eye_look", "eye_squint",
                                                           "eye_wide", "jaw", "mouth", "smile", "mouth_stretch_upper",
                                                           "nose_tongue", "rotation", "translation")}}
    table = format_table({"fsq": row, "vq": row, "lfq": row})
    assert "| FSQ | 1000 | 0.0100 | 0.200 | 0.0200 | 90.0% | 500.0 | 60 |" in table
    assert table.count("| VQ |") == 2 and "eye_blink" in table


def test_emotion_phase_leaves_the_tokenizer_alone() -> None:
    from facereact.tokenizer.training import EmotionTask, TokenizerLoss

    trained = "emotion_reader"
    torch.manual_seed(0)
    model = FaceTokenizer(TokenizerConfig(**{**TINY.__dict__, "quantizer": "vq"}))
    model.train()
    clips = [(np.random.default_rng(0).normal(size=(40, FACE_DIM)).astype(np.float32),
              np.zeros((40, EMOTION_DIM), np.float32))]
    task = EmotionTask(model, clips, clips, TokenizerLoss(window=16), scale=[1.0] * EMOTION_DIM)
    model(torch.from_numpy(clips[0][0])[None])  # phase 1 has run: the VQ codebook is initialised
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith(trained)}
    batch = task.make_batch([0, 0], [1, 2], torch.device("cpu"))
    loss, _ = task.loss(task.model, batch)
    loss.backward()
    for key, value in model.state_dict().items():
        if not key.startswith(trained):
            assert torch.equal(before[key], value), key
    assert all(p.grad is None for n, p in model.named_parameters() if not n.startswith(trained))
    assert all(p.grad is not None for n, p in model.named_parameters() if n.startswith(trained))
    assert task.model.training


def test_emotion_squared_term_lets_an_uncertain_rare_au_show() -> None:
    """A binary AU on in 30% of the frames that look alike: L1's best constant is 0 (the median),
    so the tokens are never asked to keep it; with the squared term the best guess is near 0.3."""
    target = torch.tensor([1.0] * 3 + [0.0] * 7)[:, None]
    guesses = torch.linspace(0, 1, 101)

    def best(weight: float) -> float:
        losses = [emotion_error(torch.full_like(target, float(c)), target, weight)[0] for c in guesses]
        return float(guesses[int(torch.stack(losses).argmin())])

    assert best(0.0) == 0.0
    assert 0.2 <= best(4.0) <= 0.3
