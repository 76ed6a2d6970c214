"""The tokenizer's loss on the face's frame-to-frame changes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facereact.layout import FACE_DIM, MOTION_GROUPS, face_index
from facereact.tokenizer.model import grouped_change_l1, region_change_scale


def test_a_dropped_nod_costs_its_changes_and_a_held_offset_costs_nothing():
    t = torch.arange(50) / 25
    real = torch.zeros(1, 50, FACE_DIM)
    real[0, :, face_index("pitch")] = 0.1 * torch.sin(2 * torch.pi * 2 * t)
    scale = torch.ones(len(MOTION_GROUPS))
    assert grouped_change_l1(real, real, scale) == 0
    assert grouped_change_l1(real + 0.3, real, scale) == pytest.approx(0.0, abs=1e-6)  # an offset: no change lost
    still = torch.zeros_like(real)
    # The nod's mean absolute change, counted in the pitch region alone, one of 15.
    expected = real[0, :, face_index("pitch")].diff().abs().mean() / len(MOTION_GROUPS)
    assert grouped_change_l1(still, real, scale) == pytest.approx(float(expected), rel=1e-5)
    pitch = list(MOTION_GROUPS).index("pitch")
    scale[pitch] = 0.5  # a region that changes little in training counts its errors double
    assert grouped_change_l1(still, real, scale) == pytest.approx(2 * float(expected), rel=1e-5)


def test_the_change_scale_is_each_regions_mean_absolute_change():
    face = np.zeros((11, FACE_DIM))
    face[:, face_index("yaw")] = np.arange(11) * 0.01  # turns 0.01 a frame
    scale = region_change_scale([face, face])
    regions = list(MOTION_GROUPS)
    assert scale[regions.index("yaw")] == pytest.approx(0.01)
    assert scale[regions.index("pitch")] == pytest.approx(1e-6)  # still: floored, never zero
