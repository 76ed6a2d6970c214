"""Each command takes only the flags it reads, and its defaults are the library's."""
from dataclasses import replace
from pathlib import Path

import pytest

import facereact.cli as cli


@pytest.mark.parametrize("argv", [
    ["train", "generator", "--data", "D", "--tokenizer", "T", "--out", "O", "--usage-weight", "0.1"],
    ["train", "generator", "--data", "D", "--tokenizer", "T", "--out", "O", "--levels", "5", "5"],
    ["train", "trans-vae", "--data", "D", "--out", "O", "--quantizer", "vq"],
    ["train", "belfusion", "--data", "D", "--out", "O", "--width", "64"],
    ["train", "tokenizer", "--data", "D", "--out", "O", "--offline"],
    ["bench", "tokenizers", "--data", "D", "--resume"],
    ["train", "reader", "--data", "D", "--tokenizer", "T", "--out", "O", "--levels", "5"],
    ["train", "reader", "--data", "D", "--tokenizer", "T", "--out", "O", "--squared-weight", "2"],
    ["train", "tokenizer", "--data", "D", "--out", "O", "--emotion-reader", "tokens"],
    ["train", "tokenizer", "--data", "D", "--out", "O", "--batch-size", "-1"],
    ["train", "generator", "--data", "D", "--tokenizer", "T", "--out", "O", "--lr", "nan"],
    ["train", "tokenizer", "--data", "D", "--out", "O", "--device", "tpu"],
    ["generate", "--model", "M", "--data", "D", "--out", "O", "--samples", "0"],
    ["stream", "--model", "M", "--wav", "W", "--temperature", "nan"],
    ["generate", "--model", "M", "--data", "D", "--out", "O", "--guidance-ramp", "-1"],
])
def test_flags_a_command_does_not_read_are_refused(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def _captured(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> dict:
    seen: dict = {}

    def record(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs

    monkeypatch.setattr(f"{module}.{name}", record)
    return seen


def test_training_defaults_are_the_library_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from facereact.generator import training as generator_training
    from facereact.generator.model import GeneratorConfig
    from facereact.tokenizer import training as tokenizer_training
    from facereact.tokenizer.model import TokenizerConfig

    seen = _captured(monkeypatch, "facereact.tokenizer.training", "train_tokenizer")
    assert cli.main(["train", "tokenizer", "--data", "D", "--out", "O"]) == 0
    assert seen["args"][2:] == (TokenizerConfig(), tokenizer_training.SCHEDULE, tokenizer_training.TokenizerLoss())
    # an --epochs given is what runs: the library's step floor only with --min-steps
    assert tokenizer_training.SCHEDULE.min_steps > 0
    assert cli.main(["train", "tokenizer", "--data", "D", "--out", "O", "--epochs", "3"]) == 0
    assert (seen["args"][3].epochs, seen["args"][3].min_steps) == (3, 0)
    assert cli.main(["train", "tokenizer", "--data", "D", "--out", "O", "--epochs", "3", "--min-steps", "50"]) == 0
    assert seen["args"][3].min_steps == 50
    seen = _captured(monkeypatch, "facereact.tokenizer.training", "train_reader")
    assert cli.main(["train", "reader", "--data", "D", "--tokenizer", "T", "--out", "O"]) == 0
    assert seen["args"][3:] == (tokenizer_training.READER_SCHEDULE, tokenizer_training.TokenizerLoss())
    assert cli.main(["train", "reader", "--data", "D", "--tokenizer", "T", "--out", "O", "--clip-starts", "0.5"]) == 0
    assert seen["args"][4].clip_starts == 0.5
    seen = _captured(monkeypatch, "facereact.generator.training", "train_generator")
    chose = _captured(monkeypatch, "facereact.generator.choose", "choose_sampling")
    monkeypatch.setattr("facereact.cli.train._report_choice", lambda choice, model: None)
    assert cli.main(["train", "generator", "--data", "D", "--tokenizer", "T", "--out", "O"]) == 0
    assert chose["args"] == ("O", "D", "val", 0)  # the trained model then chooses its sampling on val
    assert seen["args"][3:] == (GeneratorConfig(), generator_training.SCHEDULE, generator_training.GeneratorTraining())
    assert cli.main(["train", "generator", "--data", "D", "--tokenizer", "T", "--out", "O", "--offline",
                     "--window", "64", "--epochs", "3", "--speaker-dropout", "0.2"]) == 0
    config, schedule, settings = seen["args"][3:]
    assert config.offline and schedule.epochs == 3 and schedule.lr == generator_training.SCHEDULE.lr
    assert settings.window == 64 and settings.speaker_dropout == 0.2
    # The motion head: weighted, or (weight 0) not built at all; the tokenizer's loss on changes.
    assert cli.main(["train", "generator", "--data", "D", "--tokenizer", "T", "--out", "O",
                     "--aux-motion-weight", "0.5"]) == 0
    assert seen["args"][3].aux_motion and seen["args"][5].aux_motion_weight == 0.5
    assert cli.main(["train", "generator", "--data", "D", "--tokenizer", "T", "--out", "O",
                     "--aux-motion-weight", "0"]) == 0
    assert not seen["args"][3].aux_motion
    chose.clear()
    assert cli.main(["train", "generator", "--data", "D", "--tokenizer", "T", "--out", "O", "--no-choose-sampling"]) == 0
    assert chose == {}
    seen = _captured(monkeypatch, "facereact.tokenizer.training", "train_tokenizer")
    assert cli.main(["train", "tokenizer", "--data", "D", "--out", "O", "--motion-weight", "0.3"]) == 0
    assert seen["args"][4].motion_weight == 0.3


def test_a_wrong_setting_is_one_line_not_a_traceback(tmp_path: Path, capsys) -> None:
    assert cli.main(["train", "generator", "--data", str(tmp_path), "--tokenizer", str(tmp_path), "--out",
                     str(tmp_path / "g"), "--listener-dropout", "1.5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: listener_dropout must be in [0, 1)") and "Traceback" not in err


def test_stream_of_an_offline_model_is_a_clear_error(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    import torch

    from facereact.generator.model import GeneratorConfig, ReactionGenerator
    from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig

    torch.manual_seed(0)
    tokenizer = FaceTokenizer(TokenizerConfig(levels=(4, 4), width=16, layers=1, heads=2, emotion_layers=1,
                                              reader_width=8, reader_layers=1, context=4))
    ReactionGenerator(GeneratorConfig(levels=tokenizer.levels, width=16, heads=2, layers=1, context=8,
                                      future=4, offline=True)).save(tmp_path / "gen")
    tokenizer.save(tmp_path / "gen" / "tokenizer")
    wav = next((tiny_corpus / "val" / "Audio_files").rglob("*.wav"))
    assert cli.main(["stream", "--model", str(tmp_path / "gen"), "--wav", str(wav), "--fast"]) == 2
    err = capsys.readouterr().err
    assert "offline generator" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_tokenizer_folder_given_as_a_generator_names_the_mismatch(tmp_path: Path, tiny_corpus: Path,
                                                                    capsys) -> None:
    import torch

    from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig

    torch.manual_seed(0)
    FaceTokenizer(TokenizerConfig(levels=(4, 4), width=16, layers=1, heads=2, emotion_layers=1, reader_width=8,
                                  reader_layers=1, context=4)).save(tmp_path / "tok")
    assert cli.main(["generate", "--model", str(tmp_path / "tok"), "--data", str(tiny_corpus),
                     "--out", str(tmp_path / "p.npz")]) == 2
    assert "a tokenizer folder, where a generator folder is needed" in capsys.readouterr().err


def test_the_guidance_ramp_flag_goes_over_the_generators_own_sampling() -> None:
    from facereact.cli.flags import sampling_from
    from facereact.generator.model import GeneratorConfig, ReactionGenerator

    generator = ReactionGenerator(GeneratorConfig(offline=True, width=16, heads=2, layers=1, context=8))
    args = cli.build_parser().parse_args(["generate", "--model", "M", "--data", "D", "--out", "O",
                                          "--guidance-ramp", "0"])
    how = sampling_from(args, generator)
    assert how.guidance_ramp == 0 and how.guidance == 3.0  # the offline default's guidance, unramped
    generator.chosen_sampling = replace(how, guidance=5.0, guidance_ramp=20)
    assert sampling_from(args, generator) == replace(how, guidance=5.0)  # over the model's own choice
    plain = cli.build_parser().parse_args(["generate", "--model", "M", "--data", "D", "--out", "O"])
    assert sampling_from(plain, generator) is None  # no flag: each generator its own sampling
