import json
from pathlib import Path

import numpy as np

from facereact.cli import main
from facereact.data.corpus import ReactCorpus

SMALL = ["--width", "16", "--layers", "1", "--heads", "2", "--context", "8", "--warmup", "2", "--epochs", "2"]


def test_train_generate_evaluate(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    tok, gen = tmp_path / "tok", tmp_path / "gen"
    assert main(["train", "tokenizer", "--data", str(tiny_corpus), "--out", str(tok), *SMALL, "--window", "16",
                 "--batch-size", "8"]) == 0
    assert main(["train", "generator", "--data", str(tiny_corpus), "--tokenizer", str(tok), "--out", str(gen),
                 *SMALL, "--window", "32", "--batch-size", "4"]) == 0
    assert (gen / "model.safetensors").is_file() and (gen / "tokenizer" / "model.safetensors").is_file()
    pred = tmp_path / "pred.npz"
    assert main(["generate", "--model", str(gen), "--data", str(tiny_corpus), "--split", "val",
                 "--samples", "3", "--top-k", "50", "--out", str(pred)]) == 0
    n = len(ReactCorpus(tiny_corpus, "val"))
    with np.load(pred) as arrays:
        assert arrays["pred"].shape == (n, 3, 120, 25) and arrays["pred_face"].shape == (n, 3, 120, 58)
        assert np.isfinite(arrays["pred"]).all()
    out = tmp_path / "metrics.json"
    assert main(["evaluate", str(pred), "--data", str(tiny_corpus), "--split", "val", "--out", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["FRDiv"] > 0  # the samples differ
    bench = tmp_path / "bench"
    assert main(["benchmark", "--data", str(tiny_corpus), "--models", str(gen), "--samples", "3",
                 "--out", str(bench)]) == 0
    results = json.loads((bench / "results.json").read_text())
    assert set(results) == {"GroundTruth", "Random", "Mime", "MeanSeq", "MeanFr", "Ours (FSQ, online, gen)"}
    assert results["GroundTruth"]["FRDist"] == 0.0 and "**" in (bench / "results.md").read_text()
    wav = next((tiny_corpus / "val" / "Audio_files").rglob("*.wav"))
    capsys.readouterr()
    assert main(["stream", "--model", str(gen), "--wav", str(wav), "--frames", "20", "--fast", "--samples", "2"]) == 0
    assert "20 frames from audio; step latency p50" in capsys.readouterr().out
