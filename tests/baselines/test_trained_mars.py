"""Trans-VAE and BeLFusion (here a personal one) train on a MARS corpus (wav2vec2 features, 30 fps,
clips of any length) and take part in the react2025 table; a model of one corpus's rates refuses
the other's."""
import json
from pathlib import Path

import numpy as np
import pytest

from facereact.baselines.clips import predict_mars, predict_split
from facereact.baselines.files import load_baseline
from facereact.cli import main
from facereact.data.mars import MarsCorpus
from facereact.errors import UsageError
from facereact.layout import EMOTION_DIM, FACE_DIM, MARS_FPS, WAV2VEC_DIM
from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars


@pytest.fixture(scope="module")
def mars(tmp_path_factory) -> Path:
    config = MarsSynthConfig(sessions=2, clips_per_session=2, min_frames=110, max_frames=150, seed=4)
    return synthesize_mars(tmp_path_factory.mktemp("mars") / "corpus", config, progress=False)


@pytest.fixture(scope="module")
def trained(mars: Path, tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("baselines")
    folders = {}
    for name, flags in (("trans-vae", ["--window", "32"]), ("belfusion", ["--personal"])):  # MARS 2026's personalities
        folders[name] = base / name
        assert main(["train", name, "--data", str(mars), "--out", str(folders[name]), "--online", "--epochs", "2",
                     "--batch-size", "4", "--warmup", "2", *flags]) == 0
    return folders


@pytest.mark.parametrize("name", ["trans-vae", "belfusion"])
def test_a_baseline_trained_on_mars_hears_wav2vec2_at_30_fps(name: str, mars: Path, trained: dict,
                                                             tiny_corpus: Path) -> None:
    model = load_baseline(trained[name])
    assert (model.stats.fps, model.stats.audio_feature) == (MARS_FPS, "wav2vec2")
    assert model.stats.speaker_dim == WAV2VEC_DIM + FACE_DIM + EMOTION_DIM
    faces: dict = {}
    predictions = predict_mars(model, mars, "val", samples=3, seed=0, progress=False, faces=faces)
    corpus = MarsCorpus(mars, "val")
    for clip in corpus.inputs():  # every clip with a partner, each reaction as long as the pair
        frames = len(corpus.pair_arrays(clip)[0])
        assert predictions[clip.name].shape == (3, frames, EMOTION_DIM)
        assert faces[clip.name].shape == (3, frames, FACE_DIM) and np.isfinite(faces[clip.name]).all()
    again = predict_mars(model, mars, "val", samples=3, seed=0, progress=False)
    assert all(np.array_equal(again[k], v) for k, v in predictions.items())  # seeded
    with pytest.raises(UsageError, match="30 fps on wav2vec2"):  # a REACT 2024 corpus is not its
        predict_split(model, tiny_corpus, "val", samples=2, progress=False)


def test_the_react2025_table_scores_trained_baselines(mars: Path, trained: dict, tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    assert main(["benchmark", "--protocol", "react2025", "--data", str(mars), "--models", str(trained["trans-vae"]),
                 str(trained["belfusion"]), "--samples", "3", "--out", str(bench)]) == 0
    results = json.loads((bench / "results.json").read_text())
    for prefix in ("Trans-VAE (online", "BeLFusion (k=10, online"):
        row = next(r for system, r in results.items() if system.startswith(prefix))
        assert np.isfinite(row["FRD"]) and row["S-MSE"] > 0  # K different reactions, scored
    behaviour = json.loads((bench / "behaviour.json").read_text())
    assert any(system.startswith("Trans-VAE") for system in behaviour)
    # the personal BeLFusion a second time, told each listener's personality (REACT 2026's personal track)
    personal = [system for system in results if system.startswith("BeLFusion") and system.endswith(", personal")]
    assert len(personal) == 1 and np.isfinite(results[personal[0]]["FRD"])


def test_a_react2024_baseline_refuses_a_mars_corpus(tiny_corpus: Path, mars: Path, tmp_path: Path) -> None:
    out = tmp_path / "react"
    assert main(["train", "belfusion", "--data", str(tiny_corpus), "--out", str(out), "--online", "--epochs", "1",
                 "--batch-size", "4", "--warmup", "2"]) == 0
    with pytest.raises(UsageError, match="25 fps on mfcc"):
        predict_mars(load_baseline(out), mars, "val", samples=2, progress=False)
