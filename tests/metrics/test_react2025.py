"""REACT 2025/2026 scoring: the target draw, the alignment, and each figure against a direct
formula written from the organisers' description on small arrays."""
import json
from pathlib import Path

import numpy as np
import pytest

from facereact.cli import main
from facereact.data.mars import MarsCorpus
from facereact.errors import DataError
from facereact.layout import AFFECT, AU, EMOTION_DIM, EXPRESSION
from facereact.metrics.react2025 import align, draw_targets, evaluate_react2025, score_input
from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars
from tests.metrics.test_properties import textbook_grouped


def emotion(rng: np.random.Generator, t: int) -> np.ndarray:
    x = np.zeros((t, EMOTION_DIM), np.float32)
    x[:, AU] = rng.random((t, AU.stop - AU.start)) < 0.3
    x[:, AFFECT] = np.cumsum(rng.normal(0, 0.1, (t, AFFECT.stop - AFFECT.start)), 0)
    e = rng.random((t, EXPRESSION.stop - EXPRESSION.start))
    x[:, EXPRESSION] = e / e.sum(1, keepdims=True)
    return x


def direct_ccc(a: np.ndarray, b: np.ndarray) -> float:
    """The organisers' per-column CCC: Pearson (NaN -> 0, clipped), ddof-0 moments, mean over columns."""
    out = []
    for c in range(a.shape[1]):
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.corrcoef(a[:, c].astype(np.float64), b[:, c].astype(np.float64))[0, 1]
        r = 0.0 if np.isnan(r) else float(np.clip(r, -1, 1))
        out.append(2 * r * a[:, c].std() * b[:, c].std() /
                   (a[:, c].var() + b[:, c].var() + (a[:, c].mean() - b[:, c].mean()) ** 2 + 1e-8))
    return float(np.mean(out))


def test_each_figure_against_its_direct_formula() -> None:
    rng = np.random.default_rng(0)
    t, k, m = 40, 3, 4
    pred = np.stack([emotion(rng, t) for _ in range(k)])
    targets = np.stack([emotion(rng, t) for _ in range(m)])
    speaker = emotion(rng, t)
    got = score_input(pred, targets, speaker)
    assert got.FRC == pytest.approx(sum(max(direct_ccc(g, p) for g in targets) for p in pred), rel=1e-6)
    assert got.FRD == sum(min(textbook_grouped(p.astype(np.float64), g.astype(np.float64)) for g in targets)
                          for p in pred)
    pairs = sum(((pred[i].astype(np.float64) - pred[j]) ** 2).sum() for i in range(k) for j in range(k))
    assert got.SMSE == pytest.approx(pairs / (k * (k - 1) * t * EMOTION_DIM), rel=1e-9)
    assert got.FRVar == pytest.approx(np.mean([np.var(p[:, c].astype(np.float64), ddof=1)
                                               for p in pred for c in range(EMOTION_DIM)]), rel=1e-9)
    cols = slice(AFFECT.start, EMOTION_DIM)
    assert got.MAE == pytest.approx(np.mean([np.abs(g[:, cols].astype(np.float64) - p[:, cols]).mean()
                                             for p in pred for g in targets]), rel=1e-9)
    # TLCC scores prediction 0 only: changing another prediction leaves it, changing 0 may not.
    other = pred.copy()
    other[1:] = emotion(rng, t)
    assert score_input(other, targets, speaker).TLCC == got.TLCC


def test_align_keeps_equal_lengths_and_resamples_the_rest() -> None:
    rng = np.random.default_rng(1)
    x = emotion(rng, 50)
    assert align(x, 50) is x
    y = align(x, 80)
    assert y.shape == (80, EMOTION_DIM)
    assert set(np.unique(y[:, AU])) <= {0.0, 1.0}
    assert np.allclose(y[:, EXPRESSION].sum(1), 1.0, atol=1e-5)
    assert np.allclose(y[[0, -1], AFFECT], x[[0, -1], AFFECT])  # the ends are kept


@pytest.fixture(scope="module")
def mars(tmp_path_factory) -> Path:
    config = MarsSynthConfig(sessions=2, clips_per_session=3, min_frames=70, max_frames=110, seed=3)
    return synthesize_mars(tmp_path_factory.mktemp("mars") / "corpus", config, progress=False)


def test_targets_are_the_partner_then_the_session_and_reproducible(mars: Path) -> None:
    corpus = MarsCorpus(mars, "train")
    clip = corpus.pairs[0][0]
    targets = draw_targets(corpus, clip, seed=7)
    assert len(targets) == 10 and targets[0] == clip.partner
    assert all(t.session == clip.session and t.role == "listener" for t in targets)
    assert draw_targets(corpus, clip, seed=7) == targets
    # Two other listeners in the session: fewer than 9, so drawn with replacement from those two.
    assert set(targets[1:]) == {c for c in corpus.sessions()[clip.session]["listener"] if c != clip.partner}


def test_evaluate_react2025_end_to_end(mars: Path, tmp_path: Path, capsys) -> None:
    corpus = MarsCorpus(mars, "val")
    rng = np.random.default_rng(0)
    preds = {c.name: np.stack([emotion(rng, len(corpus.attributes(c))) for _ in range(2)]) for c in corpus.clips}
    result = evaluate_react2025(preds, corpus, "both", seed=1)
    assert result["inputs"] == len(corpus.clips) and len(result["targets"]["draws"]) == len(corpus.clips)
    assert result["targets"]["resampled"] > 0 and "not official" in result["targets"]["alignment"]
    assert all(np.isfinite(result[f]) for f in ("FRC", "FRD", "S-MSE", "FRVar", "TLCC", "MAE"))
    only_speakers = evaluate_react2025(preds, corpus, "speaker", seed=1)
    assert only_speakers["inputs"] == len(corpus.pairs)
    path = tmp_path / "pred.npz"
    np.savez(path, **preds)
    out = tmp_path / "result.json"
    assert main(["evaluate", str(path), "--data", str(mars), "--split", "val", "--protocol", "react2025",
                 "--seed", "1", "--out", str(out), "--quiet"]) == 0
    saved = json.loads(out.read_text())
    assert saved["FRD"] == result["FRD"] and saved["targets"]["draws"] == result["targets"]["draws"]
    short = dict(preds)
    name = corpus.clips[0].name
    short[name] = preds[name][:, :-1]
    np.savez(path, **short)
    assert main(["evaluate", str(path), "--data", str(mars), "--split", "val", "--protocol", "react2025"]) == 2
    assert "as long as the input" in capsys.readouterr().err


def test_a_cut_scores_each_clips_first_frames(mars: Path) -> None:
    """frames: inputs and targets cut alike (the sampling choice's quick ranking), not targets
    resampled to the cut: the real partners' first frames are at distance 0 from themselves."""
    corpus = MarsCorpus(mars, "val")
    cut = 50
    assert min(len(corpus.attributes(c)) for c in corpus.clips) > cut
    truth = {c.name: corpus.attributes(c.partner)[None, :cut] for c in corpus.clips}
    assert evaluate_react2025(truth, corpus, "both", frames=cut)["FRD"] == 0.0
    squeezed = {c.name: align(corpus.attributes(c.partner), cut)[None] for c in corpus.clips}
    assert evaluate_react2025(squeezed, corpus, "both", frames=cut)["FRD"] > 0
    with pytest.raises(DataError, match=f"expected \\(K, {cut}, 25\\)"):
        evaluate_react2025({c.name: corpus.attributes(c.partner)[None] for c in corpus.clips}, corpus, frames=cut)


def test_the_session_mean_seq_is_its_sessions_training_listeners(mars: Path) -> None:
    from facereact.baselines.mars_rule_based import SESSION_MEAN_SEQ, mars_rule_based, per_frame_means

    corpus, train = MarsCorpus(mars, "val"), MarsCorpus(mars, "train")
    means = per_frame_means(train)
    inputs = corpus.inputs("speaker")
    got = mars_rule_based(SESSION_MEAN_SEQ, corpus, inputs, means, k=2)
    for clip in inputs:
        listeners = [train.attributes(c) for c in train.sessions()[clip.session]["listener"]]
        t = min(len(corpus.attributes(clip)), *map(len, listeners))  # every training listener reaches it
        np.testing.assert_allclose(got[clip.name][1, :t], np.mean([x[:t] for x in listeners], 0), atol=1e-6)
        assert got[clip.name].shape == (2, len(corpus.attributes(clip)), EMOTION_DIM)
    # sessions differ, so the session's mean is not the role's (MeanSeq's)
    whole = mars_rule_based("MeanSeq", corpus, inputs, means, k=2)
    assert any(not np.allclose(got[c.name], whole[c.name]) for c in inputs)
    # a session without training clips of the role falls back to MeanSeq's mean
    alone = {k: v for k, v in means.items() if not isinstance(k, tuple)}
    fallback = mars_rule_based(SESSION_MEAN_SEQ, corpus, inputs, alone, k=2)
    assert all(np.array_equal(fallback[c.name], whole[c.name]) for c in inputs)


def test_benchmark_react2025_rule_based_table(mars: Path, tmp_path: Path) -> None:
    from facereact.benchmark_react2025 import benchmark_react2025

    results, table = benchmark_react2025(mars, tmp_path / "bench", "val", "speaker", samples=3, progress=False)
    assert list(results) == ["GroundTruth", "Random", "Mime", "MeanSeq", "MeanFr", "MeanSeq (session)"]
    assert results["GroundTruth"]["FRD"] == 0.0  # its own partner is the first target
    assert results["Random"]["S-MSE"] > 0 and results["Mime"]["S-MSE"] == 0.0
    assert results["MeanFr"]["FRVar"] == 0.0 and results["MeanSeq"]["FRVar"] > 0
    assert "| Mime |" in table and "not official" in table
    assert json.loads((tmp_path / "bench" / "targets.json").read_text())["seed"] == 2025
    assert main(["benchmark", "--protocol", "react2025", "--data", str(mars), "--models", str(tmp_path / "none")]) == 2
