"""A generator records the frame rate and audio feature of its corpus and refuses another."""
import json
from pathlib import Path

import numpy as np
import pytest

from facereact.cli import main
from facereact.data.mars import MarsCorpus
from facereact.data.rates import MARS, REACT2024, check_fits, corpus_rates
from facereact.errors import DataError, UsageError
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.layout import WAV2VEC_DIM
from facereact.model_files import config_from_dict
from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars
from facereact.tokenizer.model import FaceTokenizer


@pytest.fixture(scope="module")
def mars(tmp_path_factory) -> Path:
    config = MarsSynthConfig(sessions=2, clips_per_session=2, min_frames=60, max_frames=90)
    return synthesize_mars(tmp_path_factory.mktemp("mars") / "corpus", config, progress=False)


def test_corpora_declare_their_rates(tiny_corpus: Path, mars: Path) -> None:
    assert corpus_rates(tiny_corpus) == REACT2024 and corpus_rates(mars) == MARS
    assert (REACT2024.fps, MARS.fps) == (25, 30)


def test_a_model_refuses_a_corpus_of_another_frame_rate(tiny_corpus: Path, mars: Path) -> None:
    check_fits(25, "mfcc", tiny_corpus, "m")  # fits: no error
    with pytest.raises(UsageError, match=r"m runs at 30 fps on mfcc .* REACT 2024 corpus at 25 fps"):
        check_fits(30, "mfcc", tiny_corpus, "m")
    with pytest.raises(UsageError, match=r"MARS \(REACT 2025/2026\) corpus at 30 fps with wav2vec2 features: train one on it"):
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


SMALL = ["--width", "16", "--layers", "1", "--heads", "2", "--context", "8", "--warmup", "2", "--epochs", "1"]


def test_train_generate_and_score_on_mars(mars: Path, tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    """A tokenizer and a generator train on a MARS corpus, at its 30 fps on wav2vec2 features; the
    generator writes one reaction set per input clip, as long as the clip, and the 2025 scoring
    reads them; the same generator refuses the 25 fps REACT 2024 corpus."""
    tok, gen, pred = tmp_path / "tok", tmp_path / "gen", tmp_path / "pred.npz"
    assert main(["train", "tokenizer", "--data", str(mars), "--out", str(tok), *SMALL, "--window", "16",
                 "--batch-size", "4"]) == 0
    assert main(["train", "generator", "--data", str(mars), "--tokenizer", str(tok), "--out", str(gen), *SMALL,
                 "--window", "32", "--batch-size", "4"]) == 0
    assert "nan" not in (tok / "emotion" / "train_log.csv").read_text().lower()  # the reader learnt
    # it chose its sampling on the MARS val split by react2025's figures, on each clip's first 15 s
    assert "| inputs | guidance | temperature | FRC | FRD | S-MSE | timing error | score |" in capsys.readouterr().out
    evidence = json.loads((gen / "sampling_choice.json").read_text())
    assert evidence["figures"] == ["FRC", "FRD", "S-MSE"] and evidence["candidates"][0]["FRDist"] > 0
    assert json.loads((gen / "config.json").read_text())["sampling"] == evidence["chosen"]
    assert FaceTokenizer.load(tok).emotion_reader.windows == (6, 15, 30)  # 0.2, 0.5 and 1 s at 30 fps
    config = json.loads((gen / "config.json").read_text())["generator"]
    assert (config["fps"], config["audio_feature"], len(config["audio_mean"])) == (30, "wav2vec2", WAV2VEC_DIM)
    assert main(["generate", "--model", str(gen), "--data", str(mars), "--split", "val", "--samples", "2",
                 "--out", str(pred)]) == 0
    corpus = MarsCorpus(mars, "val")
    with np.load(pred) as arrays:
        assert sorted(arrays.files) == sorted(c.name for c in corpus.clips)
        for clip in corpus.clips:
            assert arrays[clip.name].shape == (2, len(corpus.attributes(clip)), 25)
    out = tmp_path / "r.json"
    assert main(["evaluate", str(pred), "--data", str(mars), "--split", "val", "--protocol", "react2025",
                 "--out", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["S-MSE"] > 0  # the two reactions differ
    bench = tmp_path / "bench"
    assert main(["benchmark", "--protocol", "react2025", "--data", str(mars), "--models", str(gen), "--samples", "2",
                 "--out", str(bench)]) == 0
    results = json.loads((bench / "results.json").read_text())
    assert set(results) == {"GroundTruth", "Random", "Mime", "MeanSeq", "MeanFr", "MeanSeq (session)",
                            "Ours (FSQ, online, gen)"}
    # sampling flags change the generator's own sampling, and name its row (never silently ignored)
    assert main(["benchmark", "--protocol", "react2025", "--data", str(mars), "--models", str(gen), "--samples", "2",
                 "--guidance", "1.5", "--out", str(tmp_path / "bench2")]) == 0
    other = json.loads((tmp_path / "bench2" / "results.json").read_text())
    [name] = [n for n in other if n.startswith("Ours")]
    assert "_g1.5_" in name and other[name]["FRC"] != results["Ours (FSQ, online, gen)"]["FRC"]
    capsys.readouterr()
    assert main(["generate", "--model", str(gen), "--data", str(tiny_corpus), "--split", "val",
                 "--out", str(tmp_path / "p2.npz")]) == 2
    assert "runs at 30 fps on wav2vec2 audio features" in capsys.readouterr().err
    assert main(["train", "generator", "--data", str(tiny_corpus), "--tokenizer", str(tok), "--out",
                 str(tmp_path / "g2"), *SMALL]) == 2
    assert "a tokenizer of a 30 fps corpus" in capsys.readouterr().err
