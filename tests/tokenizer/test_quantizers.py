import pytest
import torch

from facereact.tokenizer.quantizers import FSQ, build_quantizer, usage_stats

LEVEL_SETS = [(8, 5, 5, 5), (8, 6, 5), (7, 5, 5, 5, 5), (2, 3, 4), (3,)]


@pytest.mark.parametrize("levels", LEVEL_SETS)
def test_fsq_round_trips_exactly(levels) -> None:
    q = FSQ(levels)
    codes = torch.arange(q.codebook_size)
    vectors = q.codes_to_vectors(codes)
    assert torch.equal(q.vectors_to_codes(vectors), codes)  # code -> vector -> code
    assert len(torch.unique(vectors, dim=0)) == q.codebook_size
    z = torch.randn(500, len(levels)) * 3
    out = q(z)
    assert torch.equal(q.codes_to_vectors(out.codes), out.vectors)  # vector -> code -> vector
    assert out.codes.min() >= 0 and out.codes.max() < q.codebook_size


@pytest.mark.parametrize("level", [2, 3, 4, 5, 6, 7, 8])
def test_fsq_level_gives_exactly_that_many_symmetric_values(level: int) -> None:
    out = FSQ((level,))(torch.linspace(-30, 30, 20001)[:, None])
    values = torch.unique(out.vectors)
    assert len(values) == level and torch.isfinite(values).all()
    assert torch.allclose(values, -values.flip(0)) and values.min() == -1 and values.max() == 1


def test_fsq_gradient_passes_the_rounding() -> None:
    z = torch.randn(64, 4, requires_grad=True)
    FSQ().forward(z).vectors.pow(2).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0


def test_fsq_saturation_penalty_only_beyond_the_working_range() -> None:
    q = FSQ()
    assert q(torch.full((10, 4), 1.5)).aux_loss == 0
    assert q(torch.full((10, 4), 4.0)).aux_loss > 0


@pytest.mark.parametrize("kind", ["fsq", "vq", "lfq"])
def test_every_quantizer_learns_a_tiny_autoencoder(kind: str) -> None:
    torch.manual_seed(0)
    q = build_quantizer(kind, levels=(5, 5, 5), codebook_size=64, vq_dim=8)
    enc, dec = torch.nn.Linear(6, q.dim), torch.nn.Linear(q.dim, 6)
    params = list(enc.parameters()) + list(dec.parameters()) + [p for p in q.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-2)
    data = torch.randn(256, 3) @ torch.randn(3, 6)  # a 3-d manifold in 6-d
    errors = []
    for _ in range(150):
        out = q(enc(data))
        err = (dec(out.vectors) - data).abs().mean()
        opt.zero_grad()
        (err + out.aux_loss).backward()
        opt.step()
        errors.append(err.item())
        assert out.codes.shape == (256,) and out.codes.dtype == torch.int64
    assert min(errors[-10:]) < 0.7 * errors[0]
    q.eval()  # VQ's EMA moves the codebook during a training pass, after its output is computed
    with torch.no_grad():
        out = q(enc(data))
    assert torch.allclose(q.codes_to_vectors(out.codes), out.vectors, atol=1e-5)


def test_usage_stats() -> None:
    stats = usage_stats(torch.tensor([0, 0, 1, 1]), 4)
    assert stats["usage"] == 0.5 and stats["perplexity"] == pytest.approx(2.0)


def test_fsq_usage_term_is_the_entropy_deficit_of_the_soft_codes() -> None:
    q = FSQ((4, 3), usage_temperature=0.01)  # sharp: soft codes = the rounded codes
    z = torch.randn(3000, 2) * 3
    out = q(z)
    counts = torch.bincount(out.codes, minlength=q.codebook_size).float()
    p = counts / counts.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    deficit = q.usage_deficit(z)
    assert deficit == pytest.approx(1 - entropy.item() / torch.log(torch.tensor(12.0)).item(), abs=1e-4)
    assert q.usage_deficit(torch.zeros(50, 2)) > 0.9  # one code: nearly the full deficit


def test_fsq_usage_term_spreads_a_crowded_encoder() -> None:
    """Trained on the term alone, an encoder that maps everything to a corner spreads out."""
    torch.manual_seed(0)
    q = FSQ((5, 5))
    enc = torch.nn.Linear(2, 2)
    with torch.no_grad():
        enc.weight.mul_(0.01)
        enc.bias.fill_(1.5)
    data = torch.randn(512, 2)
    used_before = len(torch.unique(q(enc(data)).codes))
    opt = torch.optim.Adam(enc.parameters(), lr=5e-2)
    for _ in range(200):
        z = enc(data)
        loss = q(z).aux_loss + q.usage_deficit(z)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert used_before <= 2 and len(torch.unique(q(enc(data)).codes)) >= 15


def test_fsq_usage_term_of_a_big_grid_spreads_each_dimension() -> None:
    """5^8 codes: the term is the deficit of the summed per-dimension entropies (the joint would
    not fit in memory), 0 when every level of every dimension is equally used."""
    q = FSQ((5,) * 8, usage_temperature=0.01)
    assert q.codebook_size > 20000
    levels = torch.arange(5.0) - 2.0  # the five rounded values of each dimension, reached from z:
    z = torch.atanh(levels / (2 * (1 + q.eps)))
    spread = z.repeat(8, 1).T  # 5 frames, each dimension taking every level once
    assert q.usage_deficit(spread) == pytest.approx(0.0, abs=1e-4)
    one_level = torch.zeros(5, 8)
    assert q.usage_deficit(one_level) == pytest.approx(1.0, abs=1e-4)
