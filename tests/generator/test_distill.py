"""Guidance distilled into a student: the objective is the chain of digit KLs to the teacher's
guided distributions, and training on it moves the student there; the student samples in one pass."""
from pathlib import Path

import pytest
import torch

from facereact.cli import main
from facereact.generator.digits import DigitHead
from facereact.generator.distill import (DistillTask, distillation_kl, frame_guidance, guided_digit_logits, kept_layers,
                                        student_weights)
from facereact.generator.model import load_generator
from facereact.generator.sampling import Sampling, recommended, recommended_for
from facereact.generator.session import StreamingSession
from facereact.generator.training import GeneratorTask, GeneratorTraining
from facereact.layout import EMOTION_DIM, MOTION_DIM

from tests.generator.test_cli import SMALL
from tests.generator.test_generator import models, speaker, token_pair


def test_one_digit_kl_is_the_tokens_kl_and_zero_against_itself() -> None:
    torch.manual_seed(0)
    teacher, student = torch.randn(2, 5, 6), torch.randn(2, 5, 6)
    p, q = teacher.softmax(-1), student.softmax(-1)
    torch.testing.assert_close(distillation_kl([teacher], [student]), (p * (p / q).log()).sum(-1))
    torch.testing.assert_close(distillation_kl([teacher], [teacher]), torch.zeros(2, 5))


def test_digit_kls_add_up_given_the_targets_earlier_digits() -> None:
    torch.manual_seed(0)
    t_head, s_head = DigitHead((3, 2), 8), DigitHead((3, 2), 8)
    h, tokens = torch.randn(4, 8), torch.tensor([0, 3, 4, 5])
    t_logits, s_logits = t_head.digit_logits(h, tokens), s_head.digit_logits(h, tokens)
    first = t_head.split(tokens)[:, 0]
    want = 0.0
    for i, (t, s) in enumerate(zip(t_logits, s_logits)):
        p, q = t.softmax(-1), s.softmax(-1)
        want = want + (p * (p / q).log()).sum(-1)
        if i == 1:  # the second digit's logits depend on the target's first digit, not a sampled one
            shifted = h + t_head.chosen[0](first)
            torch.testing.assert_close(t, t_head.outputs[1](shifted))
    torch.testing.assert_close(distillation_kl(t_logits, s_logits), want)


def test_guided_logits_mix_the_two_passes_as_the_sampler_does() -> None:
    generator, _ = models()
    audio, face, emotion = (torch.from_numpy(x)[None] for x in speaker(20))
    tokens = torch.randint(0, generator.config.vocab, (1, 20))
    listener_in = torch.cat([torch.tensor([[generator.bos]]), tokens[:, :-1]], 1)
    batch = (audio, face, emotion, tokens, listener_in, tokens, torch.zeros(1, 20, EMOTION_DIM), torch.zeros(1, 20, MOTION_DIM))
    guided = guided_digit_logits(generator, batch, torch.full((1, 20), 4.0))
    with torch.no_grad():
        heard = generator(audio, face, emotion, tokens, listener_in, tokens, speaker_on=torch.ones(1)).logits
        alone = generator(audio, face, emotion, tokens, listener_in, tokens, speaker_on=torch.zeros(1)).logits
    for g, h, a in zip(guided, heard, alone):
        torch.testing.assert_close(g, a + 4.0 * (h - a), atol=1e-4, rtol=1e-4)


def test_the_targets_ramp_their_guidance_in_by_each_frames_place_in_its_clip() -> None:
    """A window at a clip's start gets the ramp (guidance 1 at frame 0, full from the ramp's end),
    one starting later full guidance throughout, as the teacher samples them."""
    generator, _ = models()
    audio, face, emotion = (torch.from_numpy(x)[None].repeat(2, 1, 1) for x in speaker(12))
    tokens = torch.randint(0, generator.config.vocab, (2, 12))
    listener_in = torch.cat([torch.full((2, 1), generator.bos), tokens[:, :-1]], 1)
    batch = (audio, face, emotion, tokens, listener_in, tokens, torch.zeros(2, 12, EMOTION_DIM),
             torch.zeros(2, 12, MOTION_DIM))
    how = Sampling(guidance=4.0, guidance_ramp=4)
    g = frame_guidance(how, torch.tensor([0, 30]), 12)
    torch.testing.assert_close(g[0, :6], torch.tensor([1.0, 1.75, 2.5, 3.25, 4.0, 4.0]))
    assert g.shape == (2, 12) and bool((g[1] == 4.0).all())
    assert bool((frame_guidance(how, torch.tensor([4, 30]), 12) == 4.0).all())  # no frame in the ramp
    ramped = guided_digit_logits(generator, batch, g)
    full = guided_digit_logits(generator, batch, torch.full((2, 12), 4.0))
    plain = guided_digit_logits(generator, batch, torch.ones(2, 12))
    for r, f, p in zip(ramped, full, plain):
        torch.testing.assert_close(r[0, 0], p[0, 0])  # a clip's first frame: the model hearing the speaker
        torch.testing.assert_close(r[0, 4:], f[0, 4:])
        torch.testing.assert_close(r[1], f[1])
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the trainer's GPU setting: bf16 logits, f32 weights
        assert all(bool(torch.isfinite(r).all()) for r in guided_digit_logits(generator, batch, g))


def test_a_share_of_windows_starts_at_the_clip_start_and_says_where_each_starts() -> None:
    generator, _ = models()
    t = 64
    pair = token_pair(t)
    for share in (0.0, 0.3):
        settings = GeneratorTraining(window=16, listener_dropout=0.0, clip_starts=share)
        task = GeneratorTask(generator, [pair], [], settings)
        batch = task.make_batch([0] * 1000, list(range(1000)), torch.device("cpu"))
        starts, listener_in = batch[-1], batch[4]
        at_start = (starts == 0).float().mean().item()
        assert abs(at_start - share - (1 - share) / (t - 16 + 1)) < 0.04  # the share, and uniform draws' own
        assert bool((listener_in[starts == 0, 0] == generator.bos).all())


def test_distilling_brings_the_student_to_the_guided_teacher_and_it_samples_in_one_pass(
        tiny_corpus: Path, tmp_path: Path) -> None:
    tok, teacher, student = tmp_path / "tok", tmp_path / "teacher", tmp_path / "student"
    assert main(["train", "tokenizer", "--data", str(tiny_corpus), "--out", str(tok), *SMALL, "--epochs", "2",
                 "--window", "16", "--batch-size", "8"]) == 0
    assert main(["train", "generator", "--data", str(tiny_corpus), "--tokenizer", str(tok), "--out", str(teacher),
                 *SMALL, "--epochs", "2", "--window", "32", "--batch-size", "4"]) == 0
    # the KL on the validation windows before (the student is the teacher) and after distilling
    from facereact.generator.data import load_tokenized_pairs
    from facereact.generator.distill import SETTINGS

    model, tokenizer = load_generator(teacher)
    pairs = load_tokenized_pairs(tiny_corpus, "val", tokenizer, progress=False)
    settings = type(SETTINGS)(window=32, listener_dropout=0.0, speaker_dropout=0.0)
    before = DistillTask(model, load_generator(teacher)[0], Sampling(guidance=4.0), pairs, pairs, settings).validate(model)["kl"]
    assert main(["train", "distill", "--teacher", str(teacher), "--data", str(tiny_corpus), "--out", str(student),
                 "--guidance", "4", "--window", "32", "--epochs", "8", "--lr", "3e-3", "--warmup", "2",
                 "--batch-size", "4"]) == 0
    distilled, _ = load_generator(student)
    after = DistillTask(distilled, model, Sampling(guidance=4.0), pairs, pairs, settings).validate(distilled)["kl"]
    assert before > 0.01 and after < 0.7 * before
    assert distilled.config.distilled_guidance == 4.0
    assert recommended_for(distilled.config).guidance == 1.0
    assert recommended_for(model.config) == recommended(False)
    assert not StreamingSession(distilled, tokenizer).guided and StreamingSession(model, tokenizer).guided
    with pytest.warns(UserWarning, match="guidance 4 already"):  # guidance on top of distilled guidance
        StreamingSession(distilled, tokenizer, sampling=recommended(False))
    assert main(["train", "distill", "--teacher", str(student), "--data", str(tiny_corpus),  # no teacher
                 "--out", str(tmp_path / "again")]) == 2


def test_a_shallower_student_starts_from_the_teachers_first_last_and_even_layers() -> None:
    from dataclasses import replace

    from facereact.generator.model import ReactionGenerator

    assert kept_layers(3, 3) == [0, 1, 2] and kept_layers(3, 2) == [0, 2] and kept_layers(3, 1) == [2]
    assert kept_layers(6, 4) == [0, 2, 3, 5]
    teacher, _ = models()  # 2 layers
    student = ReactionGenerator(replace(teacher.config, layers=1))
    weights = student_weights(teacher.state_dict(), 2, 1)
    student.load_state_dict(weights)  # every student weight given, none left over
    for side in ("speaker_blocks", "listener_blocks"):  # layer 0 of the student is the teacher's last
        for (name, got), (_, want) in zip(getattr(student, side)[0].state_dict().items(),
                                          getattr(teacher, side)[1].state_dict().items()):
            assert torch.equal(got, want), name
    assert torch.equal(student.audio_in.weight, teacher.audio_in.weight)


def test_the_demo_distils_only_an_online_generator_it_trains(tmp_path: Path) -> None:
    from facereact.errors import UsageError
    from facereact.demo import run_demo

    for settings, reason in ((("distilled",), "'online' and/or 'offline'"), (("offline", "distilled"), "give 'online'"),
                             (("online", "sideways"), "'online' and/or 'offline'")):
        with pytest.raises(UsageError, match=reason):
            run_demo(tmp_path / "demo", settings=settings)
    assert not (tmp_path / "demo").exists()  # refused before any work
