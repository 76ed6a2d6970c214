"""Every mistake a user can make ends in one line naming the file or flag, exit 2, no traceback;
nothing wrong is accepted."""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from facereact.cli import main
from facereact.data.paths import provenance
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.layout import EMOTION_DIM, FACE_DIM
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig

TINY_TRAIN = ["--width", "16", "--layers", "1", "--heads", "2", "--context", "8", "--window", "16", "--warmup", "1"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """An online generator folder (untrained: these tests are about the inputs)."""
    folder = tmp_path_factory.mktemp("models") / "online"
    torch.manual_seed(0)
    tokenizer = FaceTokenizer(TokenizerConfig(levels=(4, 4), width=16, layers=1, heads=2, emotion_layers=1,
                                              reader_width=8, reader_layers=1, context=4))
    ReactionGenerator(GeneratorConfig(levels=tokenizer.levels, width=16, heads=2, layers=1, context=8)).save(folder)
    tokenizer.save(folder / "tokenizer")
    return folder


def fails(argv: list[str], capsys, *names: str) -> str:
    """Run a command that must fail cleanly; returns its one error line."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    line = err.splitlines()[-1]  # progress bars may come before it
    assert "Traceback" not in err and line.startswith("error: "), err
    for name in names:
        assert str(name) in line, (name, line)
    return line


def wav(path: Path, seconds: float, rate: int = 16000, nan: bool = False) -> Path:
    samples = np.random.default_rng(0).normal(0, 0.1, int(seconds * rate))
    if nan:
        samples[10] = np.nan
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, rate, subtype="FLOAT")
    return path


def test_sampling_settings_out_of_range(models: Path, tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "p.npz"
    fails(["generate", "--model", models, "--data", tiny_corpus, "--out", out, "--top-p", "2"], capsys, "top_p")
    fails(["generate", "--model", models, "--data", tiny_corpus, "--out", out, "--guidance", "-1"], capsys,
          "guidance")
    assert not out.exists()


def test_model_sizes_that_cannot_be_built(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    fails(["train", "tokenizer", "--data", tiny_corpus, "--out", tmp_path / "t", "--width", "50", "--heads", "3"],
          capsys, "width 50", "3 heads")
    fails(["train", "tokenizer", "--data", tiny_corpus, "--out", tmp_path / "t", *TINY_TRAIN,
           "--batch-size", "4096"], capsys, "fewer than one batch of 4096")


def test_resume_needs_a_checkpoint_of_the_same_model(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "t"
    fails(["train", "tokenizer", "--data", tiny_corpus, "--out", out, "--resume", *TINY_TRAIN], capsys,
          "--resume", str(out))
    assert main(["train", "tokenizer", "--data", str(tiny_corpus), "--out", str(out), *TINY_TRAIN,
                 "--batch-size", "4", "--max-steps", "2"]) == 0
    capsys.readouterr()
    line = fails(["train", "tokenizer", "--data", tiny_corpus, "--out", out, *TINY_TRAIN[:-4], "--width", "24",
                  "--window", "16", "--batch-size", "4", "--resume"], capsys, "another shape", "--resume")
    assert len(line) < 400


def test_no_cuda_no_device_cuda(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    fails(["train", "tokenizer", "--data", tiny_corpus, "--out", tmp_path / "t", "--device", "cuda"], capsys,
          "--device cuda")


@pytest.mark.parametrize("flags,name", [(["--frames", "1"], "--frames"), (["--sessions", "2"], "--sessions"),
                                        (["--sample-rate", "4000"], "--sample-rate"), (["--clips", "0"], "--clips")])
def test_synth_refuses_a_corpus_the_other_commands_would_reject(flags: list[str], name: str, tmp_path: Path,
                                                                capsys) -> None:
    fails(["synth", tmp_path / "c", *flags], capsys, name)
    assert not (tmp_path / "c" / "train.csv").exists()


def test_stream_inputs(models: Path, tmp_path: Path, capsys) -> None:
    fails(["stream", "--model", models, "--wav", tmp_path / "none.wav", "--fast"], capsys, "none.wav", "missing")
    short = wav(tmp_path / "short.wav", 0.01)
    fails(["stream", "--model", models, "--wav", short, "--fast"], capsys, "short.wav", "shorter than one frame")
    slow = wav(tmp_path / "slow.wav", 1.0, rate=4000)
    fails(["stream", "--model", models, "--wav", slow, "--fast"], capsys, "slow.wav", "4000 Hz")


def test_render_inputs(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    bad = np.zeros((20, FACE_DIM), np.float32)
    bad[3, 5] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    fails(["render", "--face", tmp_path / "nan.npy", "--out", tmp_path / "x.gif"], capsys, "NaN")
    (tmp_path / "text.npy").write_text("not an array\n")
    fails(["render", "--face", tmp_path / "text.npy", "--out", tmp_path / "x.gif"], capsys, "text.npy",
          "not a NumPy .npy file")
    fails(["render", "--data", tiny_corpus, "--clip", "99", "--out", tmp_path / "x.gif"], capsys, "99")


def pred_file(path: Path, root: Path, split: str, k: int = 2, t: int = 120, value: float = 0.5, rows: int = 2,
              **extra) -> Path:
    pred = np.full((rows, k, t, EMOTION_DIM), value, np.float64)
    pred += np.random.default_rng(0).normal(0, 0.01, pred.shape)
    np.savez(path, pred=pred, **{**provenance(root, split), **extra})
    return path


def test_evaluate_checks_where_predictions_come_from(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    val = pred_file(tmp_path / "val.npz", tiny_corpus, "val")
    fails(["evaluate", val, "--data", tiny_corpus, "--split", "test", "--quiet"], capsys, "val.npz",
          "--split val")
    other = tmp_path / "other.npz"
    np.savez(other, pred=np.zeros((2, 2, 120, EMOTION_DIM)), split=np.array("val"), corpus=np.array("0" * 16))
    fails(["evaluate", other, "--data", tiny_corpus, "--split", "val", "--quiet"], capsys, "another corpus")
    huge = pred_file(tmp_path / "huge.npz", tiny_corpus, "val", value=1e39)
    fails(["evaluate", huge, "--data", tiny_corpus, "--split", "val", "--quiet"], capsys, "huge.npz", "float32")
    (tmp_path / "text.npz").write_text("pred = 1, 2, 3\n")
    fails(["evaluate", tmp_path / "text.npz", "--data", tiny_corpus, "--quiet"], capsys, "not a NumPy .npz archive")


def test_evaluate_says_what_it_could_not_measure(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    one = pred_file(tmp_path / "one.npz", tiny_corpus, "val", k=1, t=60)
    out = tmp_path / "r.json"
    assert main(["evaluate", str(one), "--data", str(tiny_corpus), "--split", "val", "--quiet",
                 "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["FRDiv"] == 0.0 and result["FRVar"] > 0  # K = 1: the reference reports 0 ...
    assert "holds 60 frames a reaction, the clips 120" in capsys.readouterr().err
    assert main(["evaluate", str(one), "--data", str(tiny_corpus), "--split", "val", "--quiet", "--mode", "corrected",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["FRDiv"] is None  # ... corrected: no diversity among one sample to measure


def test_outputs_are_checked_before_the_work(models: Path, tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    fails(["generate", "--model", models, "--data", tiny_corpus, "--out", blocker / "p.npz"], capsys, "a-file",
          "cannot write")
    fails(["benchmark", "--data", tiny_corpus, "--out", blocker], capsys, "a-file", "output folder")


def test_ctrl_c_says_how_to_resume(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("facereact.tokenizer.training.train_tokenizer", interrupted)
    assert main(["train", "tokenizer", "--data", str(tmp_path), "--out", str(tmp_path / "t")]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--resume" in err


def test_a_real_bug_keeps_its_traceback_and_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys) -> None:
    def broken(*args, **kwargs):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr("facereact.tokenizer.training.train_tokenizer", broken)
    assert main(["train", "tokenizer", "--data", str(tmp_path), "--out", str(tmp_path / "t")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "bug in facereact" in err


def test_data_check_reads_the_audio_content(corpus_root: Path, capsys) -> None:
    from facereact.data.check import check_corpus

    first = sorted((corpus_root / "val" / "Audio_files").rglob("*.wav"))
    wav(first[0], 51 / 25, nan=True)  # NaN samples
    wav(first[1], 0.1)  # 0.1 s under a 2 s clip
    np.save(corpus_root / "neighbour_emotion_val.npy", np.array([["1"] * 4] * 4))  # strings
    report = check_corpus(corpus_root, progress=False)
    problems = "\n".join(report.problems)
    assert not report.ok
    assert f"{first[0]}: wav holds NaN or inf samples" in problems
    assert f"{first[1]}: 0.10 s of audio for a clip of" in problems
    assert "neighbour_emotion_val.npy: neighbour matrix holds <U1 values, not numbers" in problems
    assert any("note: 2 sample rates" in line for line in report.lines)  # 16 and 48 kHz left readable


def test_evaluate_adds_the_behaviour_figures_when_predictions_carry_faces(tiny_corpus: Path, tmp_path: Path,
                                                                           capsys) -> None:
    from facereact.data.eval_set import load_eval_set

    truth = load_eval_set(tiny_corpus, "val", 120)
    # The real listeners as the prediction: the behaviour row is the real listeners' own.
    faces = np.repeat(truth.listener_face[:, None], 2, axis=1)
    copy = pred_file(tmp_path / "copy.npz", tiny_corpus, "val", pred_face=faces)
    out = tmp_path / "r.json"
    assert main(["evaluate", str(copy), "--data", str(tiny_corpus), "--quiet", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["behaviour"] == result["behaviour_real"] and result["behaviour"]["head spectrum"] == 0.0
    assert "persona" not in result  # two rows: no correlation across clips
    curves = result["behaviour_curves"]
    assert curves["generated"]["reactions"]["nod"]["curve"] == curves["real listeners"]["reactions"]["nod"]["curve"]
    assert "behaviour_curves" not in json.loads(capsys.readouterr().out)  # the curves go to --out only
    train = load_eval_set(tiny_corpus, "train", 120)  # more rows: the real listeners are their own persona
    own = pred_file(tmp_path / "own.npz", tiny_corpus, "train", rows=len(train.listener_face),
                    pred_face=np.repeat(train.listener_face[:, None], 2, 1))
    assert main(["evaluate", str(own), "--data", str(tiny_corpus), "--split", "train", "--quiet", "--out", str(out)]) == 0
    persona = json.loads(out.read_text())["persona"]
    assert len(train.listener_face) >= 3 and persona["error"] == 0.0 and persona["expressiveness r"] == 1.0
    assert main(["evaluate", str(copy), "--data", str(tiny_corpus), "--quiet", "--no-behaviour",
                 "--out", str(out)]) == 0
    assert "behaviour" not in json.loads(out.read_text())
