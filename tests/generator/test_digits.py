import pytest
import torch

from facereact.generator.digits import DigitHead, TokenEmbedding
from facereact.generator.sampling import Sampling
from facereact.nn import fast
from facereact.tokenizer.quantizers import FSQ, TokenDigits


def test_digits_are_fsq_level_indices() -> None:
    fsq = FSQ((8, 5, 3))
    digits = TokenDigits((8, 5, 3))
    codes = torch.arange(fsq.codebook_size)
    split = digits.split(codes)
    # FSQ's vector of a code is its level index per dimension, rescaled to [-1, 1]
    torch.testing.assert_close(fsq.codes_to_vectors(codes), (split.float() - fsq._half_width) / fsq._half_width)
    assert torch.equal(digits.join(split), codes)


def test_special_ids_get_their_own_embedding() -> None:
    torch.manual_seed(0)
    emb = TokenEmbedding((4, 3), 8, specials=2)
    out = emb(torch.tensor([0, 11, 12, 13]))
    torch.testing.assert_close(out[2], emb.special.weight[0])
    torch.testing.assert_close(out[3], emb.special.weight[1])
    torch.testing.assert_close(out[1], emb.digit_embeddings[0].weight[3] + emb.digit_embeddings[1].weight[2])


@pytest.mark.parametrize("levels", [(6,), (4, 3, 2)])
def test_digit_chain_is_one_distribution_over_tokens(levels: tuple[int, ...]) -> None:
    """exp(-nll) over every token sums to 1: the chain of small softmaxes is a proper
    distribution over the whole vocabulary, whatever the state."""
    torch.manual_seed(0)
    head = DigitHead(levels, 16)
    vocab = head.vocab
    h = torch.randn(3, 1, 16).expand(3, vocab, 16)
    nll, _ = head.nll(h, torch.arange(vocab).expand(3, vocab))
    torch.testing.assert_close(nll.neg().exp().sum(-1), torch.ones(3))


def test_greedy_sampling_follows_the_chain_and_seeds_repeat() -> None:
    torch.manual_seed(0)
    head = DigitHead((4, 3, 2), 16)
    h = torch.randn(5, 16)
    greedy = head.sample(h, Sampling(temperature=0), torch.Generator())
    # the greedy chain: best first digit, then best second digit given it, ...
    nll, right = head.nll(h, greedy)
    assert right.all()
    draws = [head.sample(h, Sampling(), torch.Generator().manual_seed(3)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1])
    assert (greedy < head.vocab).all()


def test_every_token_is_reachable_by_sampling() -> None:
    torch.manual_seed(0)
    head = DigitHead((3, 2), 8)
    h = torch.zeros(4000, 8)
    drawn = head.sample(h, Sampling(), torch.Generator().manual_seed(0))
    assert set(drawn.tolist()) == set(range(6))
    # digit by digit, the chain matches what its own likelihood says
    p = (-head.nll(h[:6], torch.arange(6))[0]).exp()
    freq = torch.bincount(drawn, minlength=6).float() / len(drawn)
    torch.testing.assert_close(freq, p, atol=0.03, rtol=0)


def reference_sample(head: DigitHead, h: torch.Tensor, how: Sampling, u: torch.Tensor,
                     h_free: torch.Tensor | None) -> torch.Tensor:
    """The chain as written in the docs: each digit's guided log-probabilities from its own
    module, the chosen digit's embedding added to both states, the first token whose cumulative
    probability exceeds u."""
    digits = []
    for i, output in enumerate(head.outputs):
        logp = output(h).log_softmax(-1)
        if h_free is not None:
            logp = logp + (how.guidance - 1) * (logp - output(h_free).log_softmax(-1))
        if how.temperature == 0:
            digit = logp.argmax(-1)
        else:
            cdf = (logp / how.temperature).softmax(-1).cumsum(-1)
            digit = (cdf <= u[:, i:i + 1] * cdf[:, -1:]).sum(-1).clamp(max=logp.shape[-1] - 1)
        digits.append(digit)
        if i < len(head.chosen):
            h = h + head.chosen[i](digit)
            h_free = None if h_free is None else h_free + head.chosen[i](digit)
    return head.join(torch.stack(digits, -1))


@pytest.mark.parametrize("levels", [(6,), (4, 3, 2)])
@pytest.mark.parametrize("how", [Sampling(), Sampling(temperature=0.8, guidance=2.0), Sampling(temperature=0),
                                 Sampling(temperature=0, guidance=3.0)])
def test_fused_sampling_draws_the_chain_it_describes(levels: tuple[int, ...], how: Sampling) -> None:
    """The fast sampler (first layers stacked, digit images precomputed, guidance mixed in the
    hidden layer) draws the same tokens as the chain computed module by module, from the same
    uniform draws; and it notices weights changed since its tables were built."""
    torch.manual_seed(0)
    head = DigitHead(levels, 16)
    h, h_free = torch.randn(64, 16), torch.randn(64, 16)
    free = h_free if how.guidance != 1.0 else None
    u = torch.rand(64, len(levels), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = reference_sample(head, h, how, u, free)
        g = None if free is None else torch.full((64,), how.guidance)
        drawn = head.sample(h, how, torch.Generator().manual_seed(5), free, g)
        assert torch.equal(drawn, expected)
        for p in head.parameters():
            p.mul_(1.5)
        assert torch.equal(head.sample(h, how, torch.Generator().manual_seed(5), free, g),
                           reference_sample(head, h, how, u, free))


@pytest.mark.parametrize("levels", [(6,), (4, 3, 2)])
@pytest.mark.parametrize("compiled", [True, False])
def test_each_row_draws_with_its_own_guidance(levels: tuple[int, ...], compiled: bool) -> None:
    """Per-row guidance (a conversation's ramp, Sampling.guidance_at) draws every row as one
    guidance for all rows would, from the same uniform draws, compiled or not."""
    torch.manual_seed(1)
    head = DigitHead(levels, 16)
    h, h_free = torch.randn(40, 16), torch.randn(40, 16)
    values = torch.tensor([1.0, 1.75, 2.5, 4.0])
    per_row = values.repeat(10)
    how = Sampling(temperature=0.9, guidance=4.0)
    previous = fast.set_enabled(compiled)
    try:
        with torch.inference_mode():
            drawn = head.sample(h, how, torch.Generator().manual_seed(3), h_free, per_row)
            for i, g in enumerate(values.tolist()):
                alone = head.sample(h, how, torch.Generator().manual_seed(3), h_free, torch.full((40,), g))
                assert torch.equal(drawn[i::4], alone[i::4])
            # guidance 1 on every row is the speaker-aware model alone
            ones = head.sample(h, how, torch.Generator().manual_seed(3), h_free, torch.ones(40))
            assert torch.equal(ones, head.sample(h, how, torch.Generator().manual_seed(3)))
            with pytest.raises(ValueError, match="one guidance per row"):  # guided needs every row's
                head.sample(h, how, torch.Generator().manual_seed(3), h_free)
    finally:
        fast.set_enabled(previous)
