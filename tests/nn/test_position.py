import numpy as np
import torch

from facereact.nn.blocks import Band, band_mask, symmetric_band_mask
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


def test_a_ring_band_keeps_the_last_frames_and_knows_their_ages() -> None:
    band = Band(keep=4, dim=1)
    frames = torch.arange(7.0).view(1, 7, 1)
    for t in range(3):
        band.append(frames[:, t:t + 1])
    assert band.view[0, :, 0].tolist() == [0, 1, 2] and band.ages().tolist() == [2, 1, 0]
    for t in range(3, 7):
        band.append(frames[:, t:t + 1])
    # slots hold frames 4, 5, 6, 3 (the ring wrapped); each slot's age is how far back its frame lies
    assert band.view[0, :, 0].tolist() == [4, 5, 6, 3] and band.ages().tolist() == [2, 1, 0, 3]
    assert band.view.is_contiguous() and band.ordered()[0, :, 0].tolist() == [3, 4, 5, 6]
    # joined with a younger stream (2 frames): each row keeps its own slots and count, the younger
    # row's two empty slots masked
    young = Band(keep=4, dim=1)
    for t in (10, 11):
        young.append(torch.tensor([[[float(t)]]]))
    both = Band.joined([band, young])
    assert both.view[:, :, 0].tolist() == [[4, 5, 6, 3], [10, 11, 0, 0]] and not both.uniform
    assert both.row_ages().tolist() == [[2, 1, 0, 3], [1, 0, 3, 2]]
    assert both.invalid().tolist() == [[False] * 4, [False, False, True, True]]
    assert both.ordered()[:, :, 0].tolist() == [[3, 4, 5, 6], [0, 0, 10, 11]]
    both.append(torch.tensor([[[7.0]], [[12.0]]]))
    # frame 7 overwrote frame 3 (slot 3), frame 12 filled the younger row's slot 2
    assert both.view[:, :, 0].tolist() == [[4, 5, 6, 7], [10, 11, 12, 0]]
    assert both.invalid().tolist() == [[False] * 4, [False, False, False, True]]
    # only the younger row steps: the older row's slots, count and ages stay as they were
    both.append(torch.tensor([[[13.0]]]), rows=np.array([1]))
    assert both.view[:, :, 0].tolist() == [[4, 5, 6, 7], [10, 11, 12, 13]] and both.counts.tolist() == [8, 4]
    assert both.invalid() is None and both.row_ages().tolist() == [[3, 2, 1, 0], [3, 2, 1, 0]]
    assert both.rows(torch.tensor([0])).uniform and both.rows(torch.tensor([0])).ages().tolist() == [3, 2, 1, 0]
    # the bias of the wrapped ring is the bias of the ordered band, slot by slot
    bias = RelativeBias(heads=2, past=4)
    assert torch.equal(bias(band.ages())[:, [3, 0, 1, 2]], bias(torch.tensor([3, 2, 1, 0])))
