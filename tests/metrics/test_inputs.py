import json
from pathlib import Path

import numpy as np
import pytest

from facereact.cli import main
from facereact.data.corpus import ReactCorpus
from facereact.errors import DataError
from facereact.metrics import evaluate
from facereact.synth.writer import SynthConfig, synthesize_corpus


def good(n=3, k=2, t=20):
    rng = np.random.default_rng(0)
    return {"pred": rng.random((n, k, t, 25)), "listener_gt": rng.random((n, t, 25)),
            "speaker_gt": rng.random((n, t, 25)), "neighbour": np.eye(n)}


BAD = {
    "pred axes": ({"pred": np.zeros((3, 20, 25))}, "'pred' has shape (3, 20, 25), expected 4 axes"),
    "columns": ({"pred": np.zeros((3, 2, 20, 24))}, "'pred' has 24 columns per frame, expected 25"),
    "T mismatch": ({"listener_gt": np.zeros((3, 19, 25))}, "'listener_gt' has shape (3, 19, 25), expected"),
    "N mismatch": ({"speaker_gt": np.zeros((4, 20, 25))}, "'speaker_gt' has shape (4, 20, 25)"),
    "NaN": ({"pred": np.full((3, 2, 20, 25), np.nan)}, "'pred' holds NaN or inf"),
    "empty neighbour row": ({"neighbour": np.diag([1.0, 0.0, 1.0])}, "rows with no appropriate reaction (no 1): [1]"),
    "neighbour size": ({"neighbour": np.eye(4)}, "'neighbour' has shape (4, 4), expected (3, 3)"),
    "neighbour values": ({"neighbour": np.eye(3) * 2}, "values other than 0 and 1"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_input_is_a_clear_error(kind: str) -> None:
    change, message = BAD[kind]
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        evaluate(**{**good(), **change})


def test_cli_with_an_inputs_file(tmp_path: Path, capsys) -> None:
    np.savez(tmp_path / "in.npz", **good())
    assert main(["evaluate", "--inputs", str(tmp_path / "in.npz"), "--out", str(tmp_path / "r.json"), "--quiet"]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    for key in ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRFD", "FRSyn", "shapes", "seconds"):
        assert key in result
    np.savez(tmp_path / "bad.npz", pred=np.zeros((3, 2, 20, 25)))
    assert main(["evaluate", "--inputs", str(tmp_path / "bad.npz"), "--quiet"]) == 2
    assert "bad.npz: missing arrays ['listener_gt', 'speaker_gt', 'neighbour']" in capsys.readouterr().err


def test_cli_with_a_corpus(tmp_path: Path) -> None:
    root = synthesize_corpus(tmp_path / "c", SynthConfig(sessions=3, clips_per_session=2, frames=120), progress=False)
    corpus = ReactCorpus(root, "val", clip_frames=100)
    gt = np.stack([corpus.load_pair(i, with_audio=False).listener_emotion for i in range(len(corpus))])
    np.savez(tmp_path / "pred.npz", pred=np.repeat(gt[:, None], 3, axis=1))
    out = tmp_path / "r.json"
    assert main(["evaluate", str(tmp_path / "pred.npz"), "--data", str(root), "--split", "val",
                 "--mode", "both", "--out", str(out), "--quiet"]) == 0
    result = json.loads(out.read_text())
    assert result["FRDist"] == 0.0 and result["shapes"]["pred"] == [len(corpus), 3, 100, 25]
    assert "FRSyn_corrected" in result
    np.savez(tmp_path / "short.npz", pred=np.zeros((len(corpus) - 1, 3, 100, 25)))
    assert main(["evaluate", str(tmp_path / "short.npz"), "--data", str(root), "--quiet"]) == 2
