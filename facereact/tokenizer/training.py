"""Training the face tokenizer: grouped L1 + grouped squared error + the token vectors' emotion
error, then, on the frozen tokens, the emotion reader alone."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facereact.data.corpus import ReactCorpus
from facereact.io import write_text_atomic
from facereact.layout import FACE_GROUPS
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig, grouped_l1, grouped_squared
from facereact.tokenizer.quantizers import usage_stats
from facereact.train.distributed import is_main_process
from facereact.train.trainer import TrainConfig, Trainer

JOINT_SHARE = 0.8  # the first 80% of epochs train everything; the rest only the emotion reader
STD_FLOOR = 1e-2  # channels that never move in training are not blown up by normalisation
EMOTION_SCALE_FLOOR = 0.05  # an emotion column that is almost never on is not weighted up without bound


def load_person_clips(root: str | Path, split: str) -> list[tuple[np.ndarray, np.ndarray]]:
    corpus = ReactCorpus(root, split)
    return [corpus.load_person(c) for c in corpus.clips()]


class WindowTask:
    """Random windows of person clips; subclasses define the model and the loss."""

    def __init__(self, tokenizer: FaceTokenizer, train: list, val: list, window: int) -> None:
        self.tokenizer = tokenizer
        self.train_clips = [c for c in train if len(c[0]) >= window]
        if not self.train_clips:
            raise ValueError(f"no training clip has the {window} frames of one window")
        self.val_clips = val
        self.window = window

    def num_items(self) -> int:
        return sum(len(f) for f, _ in self.train_clips) // self.window

    def make_batch(self, indices: list[int], seeds: list[int], device: torch.device):
        faces, emotions = [], []
        for index, seed in zip(indices, seeds):
            face, emotion = self.train_clips[index % len(self.train_clips)]
            start = np.random.default_rng(seed).integers(0, len(face) - self.window + 1)
            faces.append(face[start:start + self.window])
            emotions.append(emotion[start:start + self.window])
        return torch.from_numpy(np.stack(faces)).to(device), torch.from_numpy(np.stack(emotions)).to(device)

    def validate(self, model: nn.Module) -> dict[str, float]:
        return evaluate_tokenizer(self.tokenizer, self.val_clips)


def emotion_error(pred: torch.Tensor, target: torch.Tensor, squared_weight: float, scale: torch.Tensor | None = None,
                  skip: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, L1): L1 plus squared_weight times the squared error, each column's error divided by
    scale (EMOTION_DIM,), frames before `skip` of each (B, T, C) window left out; the L1 returned is
    in the emotion's own units."""
    error = (pred - target)[:, skip:]
    scaled = error if scale is None else error / scale
    return scaled.abs().mean() + squared_weight * scaled.square().mean(), error.abs().mean()


class JointTask(WindowTask):
    """Phase 1: encoder, quantizer and both decoders; the face reader waits for phase 2."""

    def __init__(self, tokenizer: FaceTokenizer, train: list, val: list, window: int) -> None:
        super().__init__(tokenizer, train, val, window)
        if tokenizer.emotion_reader is not None:  # unused here: no optimizer slot, no DDP gradient
            tokenizer.emotion_reader.requires_grad_(False)

    @property
    def model(self) -> nn.Module:
        return self.tokenizer

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        face, emotion = batch
        out = model(face)
        tok = self.tokenizer
        face_loss, _ = grouped_l1(out.face, face, tok.group_scale)
        squared_loss = grouped_squared(out.face, face, tok.face_std)
        # Unscaled here: scaled (in a trial that read the emotion off the decoded face), the rare
        # expression columns (spread 0.05) outweighed the face: perplexity 14 000 -> 244, face L1 +40%.
        emotion_loss, emotion_l1 = emotion_error(out.emotion, emotion, tok.config.emotion_squared_weight)
        total = face_loss + tok.config.squared_weight * squared_loss + emotion_loss + out.quantized.aux_loss
        return total, {"face_l1": face_loss.item(), "squared": squared_loss.item(), "emotion_l1": emotion_l1.item()}


class EmotionTask(WindowTask):
    """Phase 2: the tokenizer frozen, only the module a decode reads the emotion with learns (the
    face reader, or the token vectors' decoder in folders without one), each column's error
    divided by its spread."""

    def __init__(self, tokenizer: FaceTokenizer, train: list, val: list, window: int) -> None:
        super().__init__(tokenizer, train, val, window)
        tokenizer.final_emotion.requires_grad_(True)

    @property
    def model(self) -> nn.Module:
        return self.tokenizer.final_emotion

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        face, emotion = batch
        tok = self.tokenizer
        for frozen in (tok.encoder, tok.quantizer, tok.face_decoder, tok.emotion_decoder):
            if frozen is not tok.final_emotion:
                frozen.eval()  # frozen means frozen: no dropout, and no EMA updates of a VQ codebook
        with torch.no_grad():
            vectors = tok.quantize(face).vectors
            inputs = tok.emotion_input(vectors)
        loss, l1 = emotion_error(model(inputs), emotion, tok.config.emotion_squared_weight, tok.emotion_scale,
                                 tok.emotion_history)
        return loss, {"emotion_l1": l1.item()}


@torch.no_grad()
def evaluate_tokenizer(tokenizer: FaceTokenizer, clips: list, block: int | None = None) -> dict[str, float]:
    """Whole-clip reconstruction: 3DMM L1 per region (corpus units), emotion L1, the mean-face
    baseline's L1, codebook usage and perplexity."""
    was_training = tokenizer.training
    tokenizer.eval()
    errors = {name: [] for name in FACE_GROUPS}
    face_err, emotion_err, mean_face_err, codes = [], [], [], []
    mean = tokenizer.face_mean.cpu().numpy()
    for face, emotion in clips:
        x = torch.from_numpy(face)[None]
        tokens = tokenizer.encode(x)
        rec_face, rec_emotion = tokenizer.decode(tokens, block=block)
        diff = (rec_face[0] - x[0]).abs().numpy()
        face_err.append(diff.mean())
        for name, s in FACE_GROUPS.items():
            errors[name].append(diff[:, s].mean())
        emotion_err.append(float((rec_emotion[0] - torch.from_numpy(emotion)).abs().mean()))
        mean_face_err.append(float(np.abs(face - mean).mean()))
        codes.append(tokens.reshape(-1))
    tokenizer.train(was_training)
    result = {f"l1_{name}": float(np.mean(v)) for name, v in errors.items()}
    # Both over all channels and frames, so that their ratio compares like with like.
    result["face_l1"] = float(np.mean(face_err))
    result["mean_face_l1"] = float(np.mean(mean_face_err))
    result["emotion_l1"] = float(np.mean(emotion_err))
    result.update(usage_stats(torch.cat(codes), tokenizer.vocab_size))
    return result


def face_statistics(clips: list) -> tuple[list[float], list[float]]:
    faces = np.concatenate([f for f, _ in clips])
    return faces.mean(0).tolist(), np.maximum(faces.std(0), STD_FLOOR).tolist()


def train_tokenizer(data: str | Path, out: str | Path, config: TokenizerConfig, train: TrainConfig,
                    resume: bool = False, progress: bool = True, max_steps: int | None = None) -> FaceTokenizer:
    """Train phase 1 then phase 2 under `out`, save the model there, and write val metrics."""
    out = Path(out)
    t0 = time.perf_counter()
    train_clips = load_person_clips(data, "train")
    val_clips = load_person_clips(data, "val")
    mean, std = face_statistics(train_clips)
    emotion_std = np.concatenate([e for _, e in train_clips]).std(0)
    config = replace(config, face_mean=mean, face_std=std,
                     emotion_scale=np.maximum(emotion_std, EMOTION_SCALE_FLOOR).tolist())
    torch.manual_seed(train.seed)
    tokenizer = FaceTokenizer(config)
    joint_epochs = max(1, round(train.epochs * JOINT_SHARE))
    phases = [(JointTask, replace(train, epochs=joint_epochs), "joint"),
              (EmotionTask, replace(train, epochs=max(1, train.epochs - joint_epochs)), "emotion")]
    if not resume:  # a fresh run: stale checkpoints must not leak into a later phase
        for _, _, name in phases:
            shutil.rmtree(out / name, ignore_errors=True)
    steps_left = max_steps
    for task_type, phase_config, name in phases:
        task = task_type(tokenizer, train_clips, val_clips, config.window)
        Trainer(phase_config, out / name, progress=progress).fit(task, resume=resume, max_steps=steps_left)
        if steps_left is not None:
            steps_left -= phase_config.epochs * (task.num_items() // phase_config.batch_size)
            if steps_left <= 0:
                return tokenizer  # interrupted on purpose: resume later
        resume = True  # a later phase always continues what is on disk
    if not is_main_process():
        return tokenizer
    metrics = evaluate_tokenizer(tokenizer, val_clips)
    metrics.update(boundary_jumps(tokenizer, val_clips))
    metrics["train_seconds"] = round(time.perf_counter() - t0, 1)
    tokenizer.save(out, {"train": asdict(train), "val": metrics})
    write_text_atomic(out / "val_metrics.json", json.dumps(metrics, indent=2) + "\n")
    return tokenizer


@torch.no_grad()
def boundary_jumps(tokenizer: FaceTokenizer, clips: list, block: int = 32) -> dict[str, float]:
    """Mean |frame-to-frame change| of decoded faces at `block`-frame boundaries, divided by the
    same at all other frames: decoding independent blocks (the authors' scheme) vs the whole clip
    with context (ours), and the real faces for reference. 1.0 means no visible jump."""
    tokenizer.eval()
    ratios: dict[str, list[float]] = {"jump_ratio_blocks": [], "jump_ratio_whole": [], "jump_ratio_real": []}
    for face, _ in clips:
        if len(face) <= block:
            continue
        x = torch.from_numpy(face)[None]
        tokens = tokenizer.encode(x)
        series = {"jump_ratio_blocks": tokenizer.decode(tokens, block=block)[0][0].numpy(),
                  "jump_ratio_whole": tokenizer.decode(tokens)[0][0].numpy(), "jump_ratio_real": face}
        for key, seq in series.items():
            steps = np.abs(np.diff(seq, axis=0)).mean(1)  # steps[t - 1] = change from t - 1 to t
            at_boundary = np.zeros(len(steps), bool)
            at_boundary[np.arange(block, len(seq), block) - 1] = True
            ratios[key].append(steps[at_boundary].mean() / steps[~at_boundary].mean())
    return {k: float(np.mean(v)) for k, v in ratios.items() if v}
