"""The speaker stream's motion head: its labels, its loss and models saved before it."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.generator.motion import ACTIVE_SHARE, motion_labels, region_motion
from facereact.layout import FACE_DIM, MOTION_DIM, MOTION_GROUPS, face_index
from facereact.model_files import CONFIG_FILE


def test_a_nod_moves_the_pitch_region_only_while_it_lasts():
    face = np.zeros((200, FACE_DIM), np.float32)
    t = np.arange(25) / 25
    face[100:125, face_index("pitch")] = 0.1 * np.sin(2 * np.pi * 2 * t)
    motion = region_motion(face, np.ones(FACE_DIM), 25)
    pitch = list(MOTION_GROUPS).index("pitch")
    assert motion.shape == (200, MOTION_DIM)
    assert motion[110, pitch] > 1e-3 and motion[:90, pitch].max() == 0 and motion[140:, pitch].max() == 0
    assert np.delete(motion, pitch, axis=1).max() == 0
    # Labels: 1 where a region moves more than in 80% of the training frames.
    rng = np.random.default_rng(0)
    jitter = [rng.normal(0, 0.01, (500, FACE_DIM)) for _ in range(3)]  # training faces: a tracker's jitter
    labels, threshold = motion_labels(jitter, np.ones(FACE_DIM), 25)
    assert set(np.unique(np.concatenate(labels))) == {0.0, 1.0}
    assert np.concatenate(labels).mean(0) == pytest.approx(np.full(MOTION_DIM, ACTIVE_SHARE), abs=0.01)
    again, _ = motion_labels([face], np.ones(FACE_DIM), 25, threshold)  # validation: training's threshold
    assert again[0][:, pitch].sum() == (motion[:, pitch] > threshold[pitch]).sum() > 0


def test_models_saved_before_the_motion_head_still_load(tmp_path):
    config = GeneratorConfig(levels=(4, 4), width=16, heads=2, layers=1, context=8)
    torch.manual_seed(0)
    with_head = ReactionGenerator(config)
    assert with_head.listener_motion_head is not None
    torch.manual_seed(0)
    legacy = ReactionGenerator(GeneratorConfig(**{**config.__dict__, "aux_motion": False}))
    # The head is built last: every other weight starts as it did before the head existed.
    assert all(torch.equal(v, with_head.state_dict()[k]) for k, v in legacy.state_dict().items())
    legacy.save(tmp_path)
    saved = json.loads((tmp_path / CONFIG_FILE).read_text())
    del saved["generator"]["aux_motion"]  # as a folder of an earlier version holds it
    (tmp_path / CONFIG_FILE).write_text(json.dumps(saved))
    loaded = ReactionGenerator.load(tmp_path)
    assert loaded.listener_motion_head is None and not loaded.config.aux_motion
