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


def test_a_conversation_without_the_speakers_face_takes_its_own_guidance() -> None:
    how = Sampling(guidance=4.0, guidance_ramp=10, guidance_no_face=2.0)
    frames, seen = torch.tensor([0, 5, 5, 20, 20]), torch.tensor([True, True, False, True, False])
    torch.testing.assert_close(how.guidance_at(frames, seen), torch.tensor([1.0, 2.5, 1.5, 4.0, 2.0]))
    assert torch.equal(how.guidance_at(frames), Sampling(guidance=4.0, guidance_ramp=10).guidance_at(frames))
    assert how.guided and Sampling(guidance_no_face=2.0).guided and not Sampling(guidance_no_face=1.0).guided
    assert how.tag.endswith("_a2") and "_a" not in Sampling(guidance=4.0).tag
    with pytest.raises(ValueError, match="guidance_no_face"):
        Sampling(guidance_no_face=-1.0)


def test_a_batch_guides_each_conversation_by_whether_its_face_is_seen() -> None:
    """Two conversations in one batch, one with the speaker's face and one hearing audio alone: under
    (guidance 5, 2 without a face) each draws exactly what it draws when the whole batch has its guidance."""
    import numpy as np

    from facereact.generator.session import StreamingSession
    from test_generator import models, speaker

    generator, tokenizer = models()
    (audio, face, _), (audio2, _, _) = speaker(30, 1), speaker(30, 2)
    face_on = np.array([True, False])

    def tokens(how: Sampling) -> np.ndarray:
        session = StreamingSession(generator, tokenizer, 3, how, seeds=[7, 8])
        return np.stack([session.step_clips(np.stack([audio[t], audio2[t]]), np.stack([face[t], face[t]]),
                                            face_on=face_on).tokens for t in range(30)])

    ramp = {"guidance_ramp": 4, "temperature": 0.9}
    mixed = tokens(Sampling(guidance=5.0, guidance_no_face=2.0, **ramp))
    with_face, without = tokens(Sampling(guidance=5.0, **ramp)), tokens(Sampling(guidance=2.0, **ramp))
    assert np.array_equal(mixed[:, :3], with_face[:, :3]) and np.array_equal(mixed[:, 3:], without[:, 3:])
    assert not np.array_equal(with_face[:, 3:], without[:, 3:])  # the two guidances draw differently
