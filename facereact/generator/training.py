"""Training the reaction generator on windows of clip pairs, with the tokenizer frozen."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facereact.data.personality import personality_input
from facereact.data.rates import corpus_rates
from facereact.data.stats import AUDIO_STD_FLOOR, mean_std
from facereact.errors import UsageError
from facereact.generator.data import TokenizedPair, load_tokenized_pairs
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.generator.motion import motion_labels
from facereact.layout import PERSONALITY_NAMES
from facereact.tokenizer.model import FaceTokenizer
from facereact.train import schedules
from facereact.train.distributed import is_main_process
from facereact.train.phases import Phase, fit_phases, save_trained
from facereact.train.schedules import TrainConfig
from facereact.train.settings import check_settings
from facereact.train.windows import draw_window, long_enough, windows_per_epoch


SCHEDULE = schedules.GENERATOR


@dataclass
class GeneratorTraining:
    """How a generator is trained, beside the trainer's schedule (TrainConfig)."""

    window: int = 128  # training window in frames
    # Share of the listener's previous tokens replaced by MASK in training: the model cannot lean
    # on copying its own past and has to read the speaker. Never applied in generation.
    listener_dropout: float = 0.3
    # Share of training windows in which the listener does not hear the speaker at all (every
    # cross-attention off): the same weights then also hold a listener-only model, which
    # classifier-free guidance contrasts with the full one to sharpen speaker-driven reactions.
    speaker_dropout: float = 0.1
    # Weight of an auxiliary L1 loss: the speaker stream alone predicts the listener's emotion at
    # each frame (online: from speaker frames <= t). Reactions are rare events that next-token
    # cross-entropy barely rewards; this makes the speaker layers carry them.
    aux_emotion_weight: float = 1.0
    # Weight of a second auxiliary loss (models with the motion head): the speaker stream predicts
    # whether each of the listener's face regions is moving (binary cross-entropy; generator/motion.py),
    # so that the head's nod after a pause, which carries no emotion, is carried by the speaker layers too.
    aux_motion_weight: float = 1.0
    # Shares of training windows in which the speaker is heard with audio alone (no camera), and
    # with audio and face but no emotion (what a robot has: it is never given emotion labels). The
    # same weights then serve every input set, each absent input marked as absent.
    audio_only: float = 0.2
    no_emotion: float = 0.2
    # Extra weight of the token loss on frames where the listener's emotion is changing (a reaction
    # starting or ending): frame t counts 1 + onset_weight x its change over `onset_lag` frames
    # relative to the window's mean change, so steady jitter-only stretches count less. 0: off.
    onset_weight: float = 0.0
    onset_lag: int = 6
    # Extra weight of the token loss on the `onset_lag` frames after one of the listener's face
    # regions starts moving (its motion label rising: generator/motion.py), where a small reaction
    # such as a nod begins: the one place its timing, and so the speaker, decides the tokens (once
    # begun, the listener's own past explains the rest). Scaled to mean 1 per window. 0: off.
    motion_onset_weight: float = 0.0
    # Share of windows taken at a clip's first frame (the listener's first input BOS), which a
    # uniformly drawn window meets once in about 600. Distillation uses it to teach a student the
    # teacher's ramped-in guidance at a conversation's start; for the generator itself it cost
    # diversity (docs/quality-history.md). 0: off, and no draw is made.
    clip_starts: float = 0.0
    # Personal models (GeneratorConfig.personality): share of training windows whose listener's
    # personality is withheld, so the same weights learn an unknown listener (the generic track).
    personality_dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.onset_lag < 1:
            raise UsageError(f"onset_lag must be at least 1 frame, got {self.onset_lag}")
        check_settings(self, weights=("aux_emotion_weight", "aux_motion_weight", "onset_weight", "motion_onset_weight"),
                       shares=("listener_dropout", "speaker_dropout", "audio_only", "no_emotion", "clip_starts",
                               "personality_dropout"))
        if self.audio_only + self.no_emotion >= 1.0:
            raise UsageError(f"audio_only + no_emotion must leave windows with every input, got "
                             f"{self.audio_only} + {self.no_emotion}")


def _frames(pair: TokenizedPair) -> int:
    return len(pair.listener_tokens)


def _window(pair: TokenizedPair, motion: np.ndarray, window: slice, bos: int) -> tuple[np.ndarray, ...]:
    """A window's speaker inputs, the listener's previous tokens, target tokens, emotion and region
    motion (motion: the pair's whole-clip motion labels)."""
    previous = pair.listener_tokens[window.start - 1] if window.start > 0 else bos
    listener_in = np.concatenate([[previous], pair.listener_tokens[window.start:window.stop - 1]]).astype(np.int64)
    return (pair.speaker_audio[window], pair.speaker_face[window], pair.speaker_emotion[window],
            pair.speaker_tokens[window], listener_in, pair.listener_tokens[window], pair.listener_emotion[window],
            motion[window])


def onset_weights(emotion: torch.Tensor, weight: float, lag: int) -> torch.Tensor:
    """(B, T) loss weights from the listener's emotion (B, T, E): 1 + weight x the emotion's L1
    change over `lag` frames, divided by the window's mean change; then scaled to mean 1 per window,
    so the loss keeps its size and only the balance between frames moves."""
    change = torch.zeros(emotion.shape[:2], dtype=emotion.dtype, device=emotion.device)
    if emotion.shape[1] > lag:
        change[:, lag:] = (emotion[:, lag:] - emotion[:, :-lag]).abs().sum(-1)
    scale = change.mean(1, keepdim=True).clamp_min(1e-6)
    w = 1.0 + weight * change / scale
    return w / w.mean(1, keepdim=True)


def motion_onset_weights(motion: torch.Tensor, weight: float, lag: int) -> torch.Tensor:
    """(B, T) loss weights from the listener's motion labels (B, T, regions): 1 + weight on the
    `lag` frames from each frame where a region starts moving (counted once however many regions
    start), then scaled to mean 1 per window."""
    starts = torch.zeros(motion.shape[:2], dtype=motion.dtype, device=motion.device)
    starts[:, 1:] = ((motion[:, 1:] > 0.5) & (motion[:, :-1] <= 0.5)).any(-1).to(motion.dtype)
    # a frame within `lag` frames after a start: a running maximum over the window behind it
    near = nn.functional.max_pool1d(nn.functional.pad(starts[:, None], (lag - 1, 0)), lag, stride=1)[:, 0]
    w = 1.0 + weight * near
    return w / w.mean(1, keepdim=True)


def _stack(windows: list[tuple[np.ndarray, ...]], device: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(np.stack(parts)).to(device) for parts in zip(*windows))


class GeneratorTask:
    def __init__(self, model: ReactionGenerator, train: list[TokenizedPair], val: list[TokenizedPair],
                 settings: GeneratorTraining) -> None:
        self.model, self.settings = model, settings
        self.train = long_enough(train, _frames, settings.window)
        self.val = [p for p in val if _frames(p) >= settings.window]
        face_std, fps = np.asarray(model.config.face_std), model.config.fps
        self.train_motion, scale = motion_labels([p.listener_face for p in self.train], face_std, fps)
        self.val_motion, _ = motion_labels([p.listener_face for p in self.val], face_std, fps, scale)

    def num_items(self) -> int:
        return windows_per_epoch(self.train, _frames, self.settings.window)

    def make_batch(self, indices: list[int], seeds: list[int], device: torch.device):
        """The windows' tensors (_window's), then speaker_on, face_on, emotion_on (B,), where
        each window starts in its clip (B,) and, for a personal model, the listener's personality
        (B, P) and whether it is known (B,)."""
        how, windows = self.settings, []
        for index, seed in zip(indices, seeds):
            pair, motion = self.train[index % len(self.train)], self.train_motion[index % len(self.train)]
            window, rng = draw_window(seed, _frames(pair), how.window)
            if how.clip_starts > 0 and rng.random() < how.clip_starts:
                window = slice(0, how.window)
            parts = _window(pair, motion, window, self.model.bos)
            dropped = rng.random(how.window) < how.listener_dropout
            parts[4][dropped] = self.model.mask  # listener_in
            speaker_on = np.float32(rng.random() >= how.speaker_dropout)
            u = rng.random()
            face_on = np.float32(u >= how.audio_only)
            emotion_on = np.float32(u >= how.audio_only + how.no_emotion)
            who = ()
            if self.model.personal:  # drawn last: a generic model's windows stay the same draws
                who = personality_input(pair.listener_personality, rng.random() >= how.personality_dropout)
            windows.append((*parts, speaker_on, face_on, emotion_on, np.int64(window.start), *who))
        return _stack(windows, device)

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        audio, face, emotion, speaker_tokens, listener_in, target, listener_emotion, motion, *rest = batch
        speaker_on, face_on, emotion_on = rest[:3] if len(rest) > 2 else (None, None, None)  # val: every input
        personality, known = rest[-2:] if self.model.personal else (None, None)
        out = model(audio, face, emotion, speaker_tokens, listener_in, target, speaker_on=speaker_on,
                    face_on=face_on, emotion_on=emotion_on, personality=personality, personality_on=known)
        ce = out.nll.mean()
        logs = {}
        objective = ce
        if self.settings.onset_weight > 0 or self.settings.motion_onset_weight > 0:  # "ce" stays the plain mean
            w = torch.ones_like(out.nll)
            if self.settings.onset_weight > 0:
                w = w * onset_weights(listener_emotion, self.settings.onset_weight, self.settings.onset_lag)
            if self.settings.motion_onset_weight > 0:
                w = w * motion_onset_weights(motion, self.settings.motion_onset_weight, self.settings.onset_lag)
            objective = (out.nll * w).mean()
            logs["onset_ce"] = objective.item()
        aux = self.aux_losses(out, listener_emotion, motion, logs)
        accuracy = out.right.float().mean()
        return objective + aux, {"ce": ce.item(), **logs, "accuracy": accuracy.item()}

    def aux_losses(self, out, listener_emotion: torch.Tensor, motion: torch.Tensor, logs: dict) -> torch.Tensor:
        """The speaker stream's weighted auxiliary losses (emotion; motion, with the motion head), logged."""
        aux_l1 = (out.speaker_emotion - listener_emotion).abs().mean()
        logs["aux_emotion_l1"] = aux_l1.item()
        total = self.settings.aux_emotion_weight * aux_l1
        if out.speaker_motion is not None:  # logits of each region's chance of moving
            motion_bce = nn.functional.binary_cross_entropy_with_logits(out.speaker_motion.float(), motion)
            logs["aux_motion_bce"] = motion_bce.item()
            total = total + self.settings.aux_motion_weight * motion_bce
        return total

    def validate(self, model: nn.Module) -> dict[str, float]:
        """Teacher-forced cross-entropy and accuracy on the first window of every val pair."""
        if not self.val:
            return {}
        device = next(model.parameters()).device
        first = slice(0, self.settings.window)
        personal = self.model.personal  # every personality given
        who = [personality_input(p.listener_personality) if personal else () for p in self.val]
        batch = _stack([(*_window(p, m, first, self.model.bos), *w) for p, m, w in zip(self.val, self.val_motion, who)],
                       device)
        loss, logs = self.loss(model, batch)
        return {"loss": loss.item(), **logs}


def train_generator(data: str | Path, tokenizer_dir: str | Path, out: str | Path,
                    config: GeneratorConfig = GeneratorConfig(), train: TrainConfig = SCHEDULE,
                    settings: GeneratorTraining = GeneratorTraining(), resume: bool = False, progress: bool = True,
                    max_steps: int | None = None, personal: bool = False) -> ReactionGenerator:
    """Train under `out`; the folder then holds the generator and a copy of its tokenizer.
    personal: conditioned on the listener's personality (MARS 2026's personality files, or a REACT
    2024-layout split's personality.csv: data/personality.py)."""
    out = Path(out)
    t0 = time.perf_counter()
    rates = corpus_rates(data)  # the model runs at the corpus's frame rate, on its audio feature
    tokenizer = FaceTokenizer.load(tokenizer_dir)
    if tokenizer.config.fps != rates.fps:
        raise UsageError(f"{tokenizer_dir}: a tokenizer of a {tokenizer.config.fps} fps corpus; {data} runs at "
                         f"{rates.fps} fps: train a tokenizer on it first")
    train_pairs = load_tokenized_pairs(data, "train", tokenizer, progress=progress)
    val_pairs = load_tokenized_pairs(data, "val", tokenizer, progress=progress)
    mean, std = mean_std([p.speaker_audio for p in train_pairs], AUDIO_STD_FLOOR)
    if personal:
        known = sum(p.listener_personality is not None for p in train_pairs)
        if not known:
            raise UsageError(f"{data}: no listener personality in the train split (MARS 2026's "
                             f"personality/{{listener,speaker}}.csv, or train/personality.csv in the REACT 2024 "
                             f"layout): a personal generator needs it")
        config = replace(config, personality=len(PERSONALITY_NAMES))
    config = replace(config, levels=tokenizer.levels, audio_mean=mean, audio_std=std, fps=rates.fps,
                     audio_feature=rates.audio_feature, face_mean=tokenizer.config.face_mean,
                     face_std=tokenizer.config.face_std)
    torch.manual_seed(train.seed)
    model = ReactionGenerator(config)
    val = fit_phases([Phase("", lambda: GeneratorTask(model, train_pairs, val_pairs, settings), train)], out,
                     resume, progress, max_steps)
    if val is None:
        return model  # interrupted on purpose: resume later
    if is_main_process():
        tokenizer.save(out / "tokenizer")
    metrics = {**{f"val_{k}": v for k, v in val.items()}, "train_seconds": round(time.perf_counter() - t0, 1)}
    save_trained(model, out, metrics, train, asdict(settings))
    return model
