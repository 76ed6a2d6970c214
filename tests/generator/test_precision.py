"""bf16 autocast in training: which devices get it, and every input set of the generator trains under it."""
import numpy as np
import pytest
import torch

from facereact.errors import UsageError
from facereact.generator.data import TokenizedPair
from facereact.generator.training import GeneratorTask, GeneratorTraining
from facereact.layout import EMOTION_DIM, FACE_DIM
from facereact.train.schedules import GENERATOR, TOKENIZER
from facereact.train.trainer import mixed_precision, native_bf16

from test_generator import models, speaker

CPU = torch.device("cpu")


def autocasts(context) -> bool:
    with context:
        return torch.is_autocast_enabled("cpu")


def test_the_cpu_gets_bf16_only_when_asked_and_native() -> None:
    assert not autocasts(mixed_precision("fp32", CPU))
    assert not autocasts(mixed_precision("auto", CPU))  # auto: CUDA only
    assert autocasts(mixed_precision("bf16", CPU)) == native_bf16(CPU)  # emulated bf16 would be slower
    assert GENERATOR.precision == "bf16" and TOKENIZER.precision == "auto"  # measured per model (schedules.py)
    with pytest.raises(UsageError, match="precision"):
        mixed_precision("fp16", CPU)


def test_every_input_set_of_the_generator_trains_under_bf16_autocast() -> None:
    """The trainer's GPU setting, on the CPU: windows heard with audio alone and without emotion mix a
    learned 'absent' vector (float32) into bf16 activations; the loss must come out finite, near
    float32's, and reach every weight."""
    generator, _ = models()
    generator.train()
    rng, t = np.random.default_rng(0), 32
    pair = TokenizedPair(*(x.astype(np.float32) for x in speaker(t)), rng.integers(0, 1000, t),
                         rng.integers(0, 1000, t), rng.normal(size=(t, FACE_DIM)).astype(np.float32),
                         rng.normal(size=(t, EMOTION_DIM)).astype(np.float32))
    task = GeneratorTask(generator, [pair], [], GeneratorTraining(window=t, audio_only=0.4, no_emotion=0.4))
    batch = task.make_batch([0] * 12, list(range(12)), CPU)
    face_on, emotion_on = batch[9], batch[10]
    assert 0 < face_on.sum() < 12 and 0 < emotion_on.sum() < 12  # every input set is in the batch
    torch.manual_seed(0)
    full, _ = task.loss(generator, batch)
    torch.manual_seed(0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed, _ = task.loss(generator, batch)
    mixed.backward()
    assert torch.isfinite(mixed) and mixed.item() == pytest.approx(full.item(), rel=0.02)
    assert generator.absent_face.grad is not None and float(generator.absent_face.grad.abs().sum()) > 0
