import pytest
import torch

from facereact.generator.digits import DigitHead, TokenEmbedding
from facereact.generator.sampling import Sampling
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
