import torch

from facereact.nn.blocks import band_mask, symmetric_band_mask
from facereact.nn.position import RelativeBias


def test_masked_bias_reads_the_offset_and_blocks_outside_the_band() -> None:
    bias = RelativeBias(heads=2, past=3, future=1)
    with torch.no_grad():
        bias.table.copy_(torch.arange(10.0).view(2, 5))  # column j is offset j - future
    m = bias.masked(symmetric_band_mask(6, 3, torch.device("cpu")) & (torch.arange(6)[:, None] >= torch.arange(6) - 1))
    assert m.shape == (2, 6, 6)
    assert m[0, 4, 2] == 3.0  # offset +2 -> column 3
    assert m[1, 2, 3] == 5.0  # offset -1 (one frame ahead) -> column 0 of head 1
    assert torch.isinf(m[0, 5, 1])  # offset +4 is past the band's 3
    assert torch.isinf(m[0, 1, 4])  # three frames ahead, the mask allows one
    causal = bias.masked(band_mask(6, 3, torch.device("cpu")))
    assert torch.isinf(causal[0, 2, 3]) and causal[0, 3, 3] == 1.0  # offset 0 -> column 1
