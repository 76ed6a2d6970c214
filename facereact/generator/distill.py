"""Classifier-free guidance distilled into the weights: a student generator learns, digit by
digit, the distribution its teacher samples with guidance g (two passes a frame: the listener
hearing the speaker and the listener alone), so it samples the same reactions with one pass.

The online default samples with guidance 4 (generator/sampling.py), so every live frame runs the
listener twice; for a server that is half its listener work, and for a robot's K = 10 step twice
the rows. The student starts as a copy of the teacher and is trained on the same windows with a
KL divergence to the teacher's guided per-digit distributions (teacher forcing on the real
listener's tokens, as the teacher was trained), plus the teacher's auxiliary emotion loss.

The teacher's guidance ramps in over a conversation's first frames (Sampling.guidance_ramp), so
the targets do too, by each frame's place in its clip; a share of the windows is taken at a clip's
start (GeneratorTraining.clip_starts), where a uniformly drawn window almost never is, so that the
student learns that start.
"""
from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
from torch import nn

from facereact.errors import UsageError
from facereact.generator.data import load_tokenized_pairs
from facereact.generator.model import ReactionGenerator, load_generator
from facereact.generator.sampling import Sampling, guide, own_sampling
from facereact.generator.training import GeneratorTask, GeneratorTraining
from facereact.train import schedules
from facereact.train.distributed import is_main_process
from facereact.train.phases import Phase, fit_phases, save_trained
from facereact.train.schedules import TrainConfig

SCHEDULE = schedules.DISTILL
# The student always hears the speaker (no listener-only windows: it has no second pass), and its
# inputs are the real listener's tokens, as in generation (no masking); input sets vary as in
# training; a tenth of the windows start where a clip does (the ramped guidance, above).
SETTINGS = GeneratorTraining(listener_dropout=0.0, speaker_dropout=0.0, clip_starts=0.1)


def frame_guidance(how: Sampling, starts: torch.Tensor, frames: int) -> torch.Tensor:
    """The guidance at every frame of windows starting at `starts` (B,) in their clips, (B, frames),
    ready to mix per-digit logits."""
    return how.guidance_at(starts[:, None] + torch.arange(frames, device=starts.device))


def guided_digit_logits(teacher: ReactionGenerator, batch: tuple[torch.Tensor, ...],
                        guidance: torch.Tensor) -> list[torch.Tensor]:
    """The teacher's guided logits per digit, (B, T, levels_i): listener-only + g x (hearing the
    speaker - listener-only), the same mixture the sampler draws from (sampling.guide); g (B, T),
    each frame its own."""
    audio, face, emotion, speaker_tokens, listener_in, target, _, _, *rest = batch
    face_on, emotion_on = rest[1:3] if rest else (None, None)
    b = audio.shape[0]
    twice = lambda x: None if x is None else torch.cat([x, x])  # noqa: E731
    with torch.no_grad():
        out = teacher(twice(audio), twice(face), twice(emotion), twice(speaker_tokens), twice(listener_in),
                      twice(target), speaker_on=torch.cat([audio.new_ones(b), audio.new_zeros(b)]),
                      face_on=twice(face_on), emotion_on=twice(emotion_on))
    return [guide(logits[:b], logits[b:], guidance) for logits in out.logits]


def distillation_kl(teacher_logits: list[torch.Tensor], student_logits: list[torch.Tensor]) -> torch.Tensor:
    """(B, T) the sum over digits of KL(teacher || student) of each digit's distribution given the
    earlier digits: the chain rule's KL of the whole token, with the earlier digits taken from the
    real listener (teacher forcing on both sides) instead of drawn from the teacher."""
    total = 0.0
    for t, s in zip(teacher_logits, student_logits):
        log_t, log_s = t.log_softmax(-1), s.float().log_softmax(-1)
        total = total + (log_t.exp() * (log_t - log_s)).sum(-1)
    return total


class DistillTask(GeneratorTask):
    """GeneratorTask's windows; the objective is the KL to the teacher's guided distributions."""

    def __init__(self, model: ReactionGenerator, teacher: ReactionGenerator, guidance: Sampling, train, val,
                 settings: GeneratorTraining) -> None:
        super().__init__(model, train, val, settings)
        self.teacher, self.guidance = teacher.eval(), guidance  # the guidance and its ramp
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        audio, face, emotion, speaker_tokens, listener_in, target, listener_emotion, motion, *rest = batch
        face_on, emotion_on = rest[1:3] if rest else (None, None)
        device = audio.device
        if next(self.teacher.parameters()).device != device:
            self.teacher.to(device)
        # validation's windows are every val clip's first (GeneratorTask.validate)
        starts = rest[3] if rest else torch.zeros(audio.shape[0], dtype=torch.long, device=device)
        guided = guided_digit_logits(self.teacher, batch, frame_guidance(self.guidance, starts, audio.shape[1]))
        out = model(audio, face, emotion, speaker_tokens, listener_in, target, face_on=face_on, emotion_on=emotion_on)
        kl = distillation_kl(guided, out.logits).mean()
        logs = {"kl": kl.item(), "ce": out.nll.mean().item()}
        return kl + self.aux_losses(out, listener_emotion, motion, logs), logs


def kept_layers(teacher_layers: int, layers: int) -> list[int]:
    """Which teacher layers a student of `layers` starts from: the first, the last, evenly between."""
    if layers == 1:
        return [teacher_layers - 1]
    return [round(i * (teacher_layers - 1) / (layers - 1)) for i in range(layers)]


def student_weights(teacher: dict[str, torch.Tensor], teacher_layers: int, layers: int) -> dict[str, torch.Tensor]:
    """The teacher's weights for a student of `layers` layers: every weight outside the layers, and
    speaker and listener layer i from teacher layer kept_layers(...)[i] (a listener layer reads the
    speaker layer of its own index, so the pairs stay together)."""
    student_index = {k: i for i, k in enumerate(kept_layers(teacher_layers, layers))}  # teacher layer -> student's
    out = {}
    for name, value in teacher.items():
        parts = name.split(".")
        if parts[0] not in ("speaker_blocks", "listener_blocks"):
            out[name] = value
        elif int(parts[1]) in student_index:
            out[".".join([parts[0], str(student_index[int(parts[1])]), *parts[2:]])] = value
    return out


def distill_generator(teacher_dir: str | Path, data: str | Path, out: str | Path, guidance: float | None = None,
                      train: TrainConfig = SCHEDULE, settings: GeneratorTraining = SETTINGS, resume: bool = False,
                      progress: bool = True, max_steps: int | None = None, layers: int | None = None
                      ) -> ReactionGenerator:
    """A student of the online generator in `teacher_dir` sampling its guidance-g distribution in
    one pass (g: the teacher's own guidance unless given, the one chosen on its validation split
    or the online recommended, ramped in as that sampling ramps it), trained on `data` under `out`.
    layers: a shallower student (fewer speaker and listener layers: less work a frame), started
    from the teacher's first and last layers and those evenly between."""
    out = Path(out)
    t0 = time.perf_counter()
    teacher, tokenizer = load_generator(teacher_dir)
    if teacher.config.distilled_guidance != 1.0:
        raise UsageError(f"{teacher_dir} is already a distilled generator: distil from the one it came from")
    if teacher.personal:
        raise UsageError(f"{teacher_dir} is a personal generator: distillation keeps to generic ones")
    base = own_sampling(teacher)
    if guidance is None:
        guidance = base.guidance
    if guidance == 1.0 or guidance < 0:
        raise UsageError(f"guidance to distil must be >= 0 and not 1 (1 is no guidance), got {guidance}")
    train_pairs = load_tokenized_pairs(data, "train", tokenizer, progress=progress)
    val_pairs = load_tokenized_pairs(data, "val", tokenizer, progress=progress)
    layers = teacher.config.layers if layers is None else layers
    if not 1 <= layers <= teacher.config.layers:
        raise UsageError(f"a student has 1 to the teacher's {teacher.config.layers} layers, got {layers}")
    student = ReactionGenerator(replace(teacher.config, distilled_guidance=float(guidance), layers=layers))
    student.load_state_dict(student_weights(teacher.state_dict(), teacher.config.layers, layers))
    if teacher.chosen_sampling is not None:  # the teacher's chosen temperature; its guidance (with a face,
        # the one distilled: one set of weights holds one guidance) is in the weights
        student.chosen_sampling = replace(teacher.chosen_sampling, guidance=1.0, guidance_no_face=None)
    how = replace(base, guidance=float(guidance))
    val = fit_phases([Phase("", lambda: DistillTask(student, teacher, how, train_pairs, val_pairs, settings),
                            train)], out, resume, progress, max_steps)
    if val is None:
        return student  # interrupted on purpose: resume later
    if is_main_process():
        tokenizer.save(out / "tokenizer")
    metrics = {**{f"val_{k}": v for k, v in val.items()}, "train_seconds": round(time.perf_counter() - t0, 1)}
    save_trained(student, out, metrics, train, {**asdict(settings), "teacher": str(teacher_dir), "guidance": guidance,
                                                "guidance_ramp": how.guidance_ramp})
    return student
