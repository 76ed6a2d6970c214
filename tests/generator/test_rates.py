"""A generator records the frame rate and audio feature of its corpus and refuses another."""
import json
from pathlib import Path

import pytest

from facereact.cli import main
from facereact.data.errors import DataError, UsageError
from facereact.data.rates import MARS, REACT2024, check_fits, corpus_rates
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.layout import WAV2VEC_DIM
from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars
from facereact.train.checkpoint import config_from_dict


@pytest.fixture(scope="module")
def mars(tmp_path_factory) -> Path:
    config = MarsSynthConfig(sessions=1, clips_per_session=1, min_frames=60, max_frames=70)
    return synthesize_mars(tmp_path_factory.mktemp("mars") / "corpus", config, progress=False)


def test_corpora_declare_their_rates(tiny_corpus: Path, mars: Path) -> None:
    assert corpus_rates(tiny_corpus) == REACT2024 and corpus_rates(mars) == MARS
    assert (REACT2024.fps, MARS.fps) == (25, 30)


def test_a_model_refuses_a_corpus_of_another_frame_rate(tiny_corpus: Path, mars: Path) -> None:
    check_fits(25, "mfcc", tiny_corpus, "m")  # fits: no error
    with pytest.raises(UsageError, match=r"m runs at 30 fps on mfcc .* REACT 2024 corpus at 25 fps"):
        check_fits(30, "mfcc", tiny_corpus, "m")
    with pytest.raises(UsageError, match=r"MARS \(REACT 2025/2026\) corpus at 30 fps with wav2vec2 .*not built yet"):
        check_fits(25, "mfcc", mars, "m")


def test_the_audio_feature_sets_the_input_width() -> None:
    config = GeneratorConfig(width=32, heads=2, layers=1, context=8, audio_feature="wav2vec2",
                             audio_mean=[0.0] * WAV2VEC_DIM, audio_std=[1.0] * WAV2VEC_DIM)
    assert ReactionGenerator(config).audio_in.in_features == WAV2VEC_DIM
    with pytest.raises(UsageError, match="width 78, where wav2vec2 features have 768"):
        GeneratorConfig(audio_feature="wav2vec2")
    with pytest.raises(DataError, match="audio feature 'hubert'"):
        config_from_dict(GeneratorConfig, {"audio_feature": "hubert"}, "gen/config.json")
    old = json.loads(json.dumps({"width": 32}))  # a config saved before these fields: 25 fps, MFCC
    assert (config_from_dict(GeneratorConfig, old, "x").fps, config_from_dict(GeneratorConfig, old, "x").audio_feature) \
        == (25, "mfcc")


def test_training_on_mars_is_refused_with_a_clear_line(mars: Path, tmp_path: Path, capsys) -> None:
    assert main(["train", "generator", "--data", str(mars), "--tokenizer", str(tmp_path / "none"),
                 "--out", str(tmp_path / "g")]) == 2
    assert "MARS (REACT 2025/2026) corpus at 30 fps" in capsys.readouterr().err
