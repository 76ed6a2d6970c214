import json
from pathlib import Path

import pytest
import torch

from facereact.errors import DataError
from facereact.layout import EMOTION_DIM, FACE_DIM
from facereact.tokenizer.emotion import MOTION_HISTORY, MOTION_WINDOWS, FaceEmotionReader, motion_energy
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig
from facereact.tokenizer.training import emotion_error

TINY = TokenizerConfig(width=16, layers=1, heads=2, emotion_layers=1, reader_width=16, reader_layers=1, context=8)


def test_motion_energy_is_the_mean_change_over_each_window() -> None:
    face = torch.tensor([0.0, 1.0, 3.0, 3.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0])[None, :, None]
    energy = motion_energy(face)
    changes = [0.0, 1.0, 2.0, 0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    for k, w in enumerate(MOTION_WINDOWS):
        expected = [sum(changes[max(0, t - w + 1):t + 1]) / w for t in range(len(changes))]
        torch.testing.assert_close(energy[0, :, k], torch.tensor(expected))


def test_reader_steps_equal_the_parallel_forward_and_are_causal() -> None:
    torch.manual_seed(0)
    reader = FaceEmotionReader(FACE_DIM, EMOTION_DIM, width=16, layers=2).eval()
    face = torch.randn(3, MOTION_HISTORY + 20, FACE_DIM)
    parallel = reader(face)
    state = reader.init_state(3, FACE_DIM)
    steps = torch.cat([reader.step(face[:, t:t + 1], state) for t in range(face.shape[1])], 1)
    torch.testing.assert_close(steps, parallel, rtol=1e-5, atol=1e-5)
    changed = face.clone()
    changed[:, 30:] += 1.0
    assert torch.equal(reader(changed)[:, :30], parallel[:, :30])
    assert not torch.allclose(reader(changed)[:, 30:], parallel[:, 30:])


def test_the_face_reader_sees_motion_a_single_frame_cannot_show() -> None:
    """Two clips that end on the same face, one still and one shaking: a reader of motion tells
    them apart at the last frame, where a frame-wise reader of the face alone could not."""
    torch.manual_seed(0)
    reader = FaceEmotionReader(FACE_DIM, EMOTION_DIM, width=16, layers=1).eval()
    still = torch.zeros(1, 30, FACE_DIM)
    shaking = still.clone()
    shaking[:, 10:29:2] = 1.0  # ends on an even frame: the last frame is 0 like the still clip's
    assert torch.equal(still[:, -1], shaking[:, -1])
    assert not torch.allclose(reader(still)[:, -1], reader(shaking)[:, -1])


def test_emotion_error_scales_columns_and_skips_the_cut_off_frames() -> None:
    target = torch.zeros(1, 4, 2)
    pred = torch.tensor([[[9.0, 9.0], [9.0, 9.0], [1.0, 0.5], [1.0, 0.5]]])
    loss, l1 = emotion_error(pred, target, squared_weight=0.0, scale=torch.tensor([1.0, 0.5]), skip=2)
    assert loss.item() == pytest.approx(1.0)  # both columns' errors count 1 after scaling
    assert l1.item() == pytest.approx(0.75)  # in the emotion's own units
    loss, _ = emotion_error(pred, target, squared_weight=1.0, skip=2)
    assert loss.item() == pytest.approx(0.75 + (1.0 + 0.25) / 2)


def test_tokenizer_streams_like_it_encodes_and_decodes_a_clip() -> None:
    """encode_step and decode_step, frame by frame with their own states, give what the whole-clip
    verbs give; a fresh state starts the stream over."""
    torch.manual_seed(0)
    model = FaceTokenizer(TINY).eval()
    faces = torch.randn(2, 40, FACE_DIM)
    codes = model.encode(faces)
    face, emotion = model.decode(codes)
    encode_state, decode_state = model.init_encode_state(2), model.init_decode_state(2)
    streamed_codes, streamed_face, streamed_emotion = [], [], []
    with torch.no_grad():
        for t in range(codes.shape[1]):
            streamed_codes.append(model.encode_step(faces[:, t], encode_state))
            f, e = model.decode_step(codes[:, t], decode_state)
            streamed_face.append(f)
            streamed_emotion.append(e)
    assert torch.equal(torch.stack(streamed_codes, 1), codes)
    torch.testing.assert_close(torch.stack(streamed_face, 1), face, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(torch.stack(streamed_emotion, 1), emotion, rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        again = model.decode_step(codes[:, 0], model.init_decode_state(2))
    torch.testing.assert_close(again[0], face[:, 0], rtol=1e-4, atol=1e-4)


def test_folders_of_an_older_format_are_refused_by_name(tmp_path: Path) -> None:
    torch.manual_seed(0)
    FaceTokenizer(TINY).save(tmp_path)
    config_file = tmp_path / "config.json"
    config = json.loads(config_file.read_text())
    del config["format"]  # what versions before the format number wrote
    config_file.write_text(json.dumps(config))
    with pytest.raises(DataError, match="format 1.*retrain"):
        FaceTokenizer.load(tmp_path)


@pytest.mark.parametrize("field,value,message", [("emotion_reader", "tokens", "unknown"),
                                                 ("width", "wide", "width"), ("levels", 5, "levels")])
def test_a_config_with_an_unknown_field_or_a_wrong_type_is_a_clear_error(tmp_path: Path, field: str, value,
                                                                           message: str) -> None:
    FaceTokenizer(TINY).save(tmp_path)
    config_file = tmp_path / "config.json"
    config = json.loads(config_file.read_text())
    config["tokenizer"][field] = value
    config_file.write_text(json.dumps(config))
    with pytest.raises(DataError, match=message) as info:
        FaceTokenizer.load(tmp_path)
    assert "config.json" in str(info.value)
