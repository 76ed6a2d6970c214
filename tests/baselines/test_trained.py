"""Trans-VAE and BeLFusion: each trains a few steps, generates the right shapes, differs between
samples, and in online mode does not look ahead."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from facereact.baselines.belfusion import BeLFusion, BeLFusionConfig, diffusion_loss
from facereact.baselines.clips import FeatureStats
from facereact.baselines.trans_vae import TransVAE, TransVAEConfig
from facereact.cli import main
from facereact.data.corpus import ReactCorpus
from facereact.layout import AU, EMOTION_DIM, FACE_DIM


def speaker(t: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(t, FeatureStats().speaker_dim)).astype(np.float32))


def small_models(online: bool) -> tuple[TransVAE, BeLFusion]:
    torch.manual_seed(0)
    tv = TransVAE(TransVAEConfig(online=online, width=32, heads=2, context=20, latent_window=8)).eval()
    bf = BeLFusion(BeLFusionConfig(online=online, window=10, latent=16, hidden=16, mlp_width=32,
                                   diffusion_steps=20, ddim_steps=4)).eval()
    return tv, bf


@pytest.mark.parametrize("online", [False, True])
def test_samples_have_the_right_shapes_and_differ(online: bool) -> None:
    for model in small_models(online):
        face, emotion = model.sample(speaker(37), 4, torch.Generator().manual_seed(0))
        assert face.shape == (4, 37, FACE_DIM) and emotion.shape == (4, 37, EMOTION_DIM)
        assert torch.isfinite(face).all() and (emotion[0] - emotion[1]).abs().mean() > 1e-4
        again = model.sample(speaker(37), 4, torch.Generator().manual_seed(0))
        assert torch.equal(again[1], emotion)  # seeded


@pytest.mark.parametrize("online", [False, True])
def test_trans_vae_online_does_not_look_ahead(online: bool) -> None:
    tv, _ = small_models(online)
    base, changed = speaker(40), speaker(40).clone()
    changed[21:] += 3.0
    a = tv.sample(base, 2, torch.Generator().manual_seed(1))[1]
    b = tv.sample(changed, 2, torch.Generator().manual_seed(1))[1]
    assert torch.equal(a[:, :21], b[:, :21]) == online  # frames 0..20 precede the change
    assert not torch.equal(a[:, 21:], b[:, 21:])


@pytest.mark.parametrize("online", [False, True])
def test_trans_vae_samples_a_long_clip_in_chunks_as_whole(online: bool) -> None:
    tv, _ = small_models(online)  # context 20: each chunk of 16 needs frames from chunks before (and after)
    clip = speaker(130, seed=3)
    whole = tv.sample(clip, 3, torch.Generator().manual_seed(2), chunk=None)
    chunked = tv.sample(clip, 3, torch.Generator().manual_seed(2), chunk=16)
    for a, b in zip(whole, chunked):
        assert torch.allclose(a, b, atol=1e-5)
    # chunks without the frames they depend on would differ: the overlap is what makes them equal
    tv._attend = lambda block, x, causal, chunk: torch.cat(  # type: ignore[method-assign]
        [TransVAE._attend(tv, block, x[:, a:a + 16], causal, None) for a in range(0, x.shape[1], 16)], 1)
    naive = tv.sample(clip, 3, torch.Generator().manual_seed(2), chunk=16)
    assert not torch.allclose(whole[1], naive[1], atol=1e-3)


@pytest.mark.parametrize("online", [False, True])
def test_belfusion_online_window_hears_only_the_window_before(online: bool) -> None:
    _, bf = small_models(online)
    base, changed = speaker(40), speaker(40).clone()
    changed[12:] += 3.0  # speaker window 1 (frames 10-19) onwards
    a = bf.sample(base, 2, torch.Generator().manual_seed(1))[1]
    b = bf.sample(changed, 2, torch.Generator().manual_seed(1))[1]
    # online: listener windows 0 and 1 hear speaker windows -1 and 0, which did not change
    assert torch.equal(a[:, :20], b[:, :20]) == online
    assert torch.equal(a[:, :10], b[:, :10])
    assert not torch.equal(a[:, 20:], b[:, 20:])


def test_belfusion_binarized_aus_and_best_of_k() -> None:
    torch.manual_seed(0)
    bf = BeLFusion(BeLFusionConfig(window=10, latent=16, hidden=16, mlp_width=32, diffusion_steps=20, ddim_steps=4,
                                   binarize_aus=True)).eval()
    _, emotion = bf.sample(speaker(25), 3, torch.Generator().manual_seed(0))
    assert set(torch.unique(emotion[..., AU]).tolist()) <= {0.0, 1.0}
    assert not set(torch.unique(emotion[..., AU.stop:]).tolist()) <= {0.0, 1.0}
    face, emo = torch.randn(4, 20, FACE_DIM), torch.rand(4, 20, EMOTION_DIM)
    _, logs = diffusion_loss(bf, torch.randn(4, 20, FeatureStats().speaker_dim), face, emo)
    assert logs["best_of_k"] < logs["mean_of_k"]  # only the best of the k noisy copies counts


@pytest.mark.parametrize("name", ["trans-vae", "belfusion"])
def test_cli_trains_and_the_benchmark_adds_a_row(name: str, tiny_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / name
    flags = ["--window", "32"] if name == "trans-vae" else []
    assert main(["train", name, "--data", str(tiny_corpus), "--out", str(out), "--online", "--epochs", "2",
                 "--batch-size", "4", "--warmup", "2", *flags]) == 0
    assert json.loads((out / "config.json").read_text())["kind"] == name.replace("-", "_")
    bench = tmp_path / "bench"
    assert main(["benchmark", "--data", str(tiny_corpus), "--models", str(out), "--samples", "3",
                 "--out", str(bench)]) == 0
    results = json.loads((bench / "results.json").read_text())
    row = next(r for system, r in results.items() if system.startswith("Trans-VAE" if name == "trans-vae" else "BeLFusion"))
    assert row["FRDiv"] > 0 and np.isfinite(row["FRDist"])
    with np.load(bench / f"pred_val_{name}.npz") as arrays:
        n = len(ReactCorpus(tiny_corpus, "val"))
        assert arrays["pred"].shape == (n, 3, 120, EMOTION_DIM) and arrays["pred_face"].shape == (n, 3, 120, FACE_DIM)
