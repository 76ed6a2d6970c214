"""The guidance ramp: plain sampling at a conversation's first frame, full guidance after the ramp."""
import pytest
import torch

from facereact.generator.sampling import Sampling, recommended


def test_guidance_rises_linearly_over_the_ramp_then_stays() -> None:
    how = Sampling(guidance=4.0, guidance_ramp=10)
    got = how.guidance_at(torch.tensor([0, 1, 5, 9, 10, 250]))
    torch.testing.assert_close(got, torch.tensor([1.0, 1.3, 2.5, 3.7, 4.0, 4.0]))
    # every row past the ramp: full guidance, exactly (float32)
    assert torch.equal(how.guidance_at(torch.tensor([10, 11])), torch.tensor([4.0, 4.0]))
    assert torch.equal(Sampling(guidance=4.0).guidance_at(torch.tensor([0, 3])), torch.tensor([4.0, 4.0]))  # no ramp
    # guidance below 1 ramps down from 1 the same way
    torch.testing.assert_close(Sampling(guidance=0.5, guidance_ramp=2).guidance_at(torch.tensor([0, 1])),
                               torch.tensor([1.0, 0.75]))


def test_a_negative_ramp_is_refused() -> None:
    with pytest.raises(ValueError, match="guidance_ramp"):
        Sampling(guidance_ramp=-1)


def test_the_online_default_ramps_its_guidance() -> None:
    assert recommended(offline=False).guidance_ramp > 0
