"""Training the reaction generator on windows of clip pairs, with the tokenizer frozen."""
from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facereact.generator.data import TokenizedPair, load_tokenized_pairs
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.io import write_text_atomic
from facereact.tokenizer.model import FaceTokenizer
from facereact.train.distributed import is_main_process
from facereact.train.trainer import TrainConfig, Trainer

AUDIO_STD_FLOOR = 1e-3


def _window(pair: TokenizedPair, start: int, length: int, bos: int) -> tuple[np.ndarray, ...]:
    sl = slice(start, start + length)
    previous = pair.listener_tokens[start - 1] if start > 0 else bos
    listener_in = np.concatenate([[previous], pair.listener_tokens[start:start + length - 1]]).astype(np.int64)
    return (pair.speaker_audio[sl], pair.speaker_face[sl], pair.speaker_emotion[sl], pair.speaker_tokens[sl],
            listener_in, pair.listener_tokens[sl], pair.listener_emotion[sl])


def _stack(windows: list[tuple[np.ndarray, ...]], device: torch.device) -> tuple[torch.Tensor, ...]:
    return tuple(torch.from_numpy(np.stack(parts)).to(device) for parts in zip(*windows))


class GeneratorTask:
    def __init__(self, model: ReactionGenerator, train: list[TokenizedPair], val: list[TokenizedPair]) -> None:
        self.model = model
        self.window = model.config.window
        self.train = [p for p in train if len(p.listener_tokens) >= self.window]
        if not self.train:
            raise ValueError(f"no training pair has the {self.window} frames of one window")
        self.val = [p for p in val if len(p.listener_tokens) >= self.window]

    def num_items(self) -> int:
        return sum(len(p.listener_tokens) for p in self.train) // self.window

    def make_batch(self, indices: list[int], seeds: list[int], device: torch.device):
        windows = []
        for index, seed in zip(indices, seeds):
            pair = self.train[index % len(self.train)]
            rng = np.random.default_rng(seed)
            start = int(rng.integers(0, len(pair.listener_tokens) - self.window + 1))
            window = _window(pair, start, self.window, self.model.bos)
            dropped = rng.random(self.window) < self.model.config.listener_dropout
            window[4][dropped] = self.model.mask  # listener_in
            speaker_on = np.float32(rng.random() >= self.model.config.speaker_dropout)
            windows.append((*window, speaker_on))
        return _stack(windows, device)

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        audio, face, emotion, speaker_tokens, listener_in, target, listener_emotion, *rest = batch
        speaker_on = rest[0] if rest else None
        (nll, right), aux = model(audio, face, emotion, speaker_tokens, listener_in, target, with_aux=True,
                                  speaker_on=speaker_on)
        ce = nll.mean()
        aux_l1 = (aux - listener_emotion).abs().mean()
        accuracy = right.float().mean()
        total = ce + self.model.config.aux_emotion_weight * aux_l1
        return total, {"ce": ce.item(), "accuracy": accuracy.item(), "aux_emotion_l1": aux_l1.item()}

    def validate(self, model: nn.Module) -> dict[str, float]:
        """Teacher-forced cross-entropy and accuracy on the first window of every val pair."""
        if not self.val:
            return {}
        device = next(model.parameters()).device
        batch = _stack([_window(p, 0, self.window, self.model.bos) for p in self.val], device)
        loss, logs = self.loss(model, batch)
        return {"loss": loss.item(), **logs}


def audio_statistics(pairs: list[TokenizedPair]) -> tuple[list[float], list[float]]:
    audio = np.concatenate([p.speaker_audio for p in pairs])
    return audio.mean(0).tolist(), np.maximum(audio.std(0), AUDIO_STD_FLOOR).tolist()


def token_levels(tokenizer: FaceTokenizer) -> tuple[int, ...]:
    """The digits the generator reads tokens in: FSQ's levels, or one flat codebook."""
    return tuple(getattr(tokenizer.quantizer, "levels", (tokenizer.vocab_size,)))


def train_generator(data: str | Path, tokenizer_dir: str | Path, out: str | Path, config: GeneratorConfig,
                    train: TrainConfig, resume: bool = False, progress: bool = True,
                    max_steps: int | None = None) -> ReactionGenerator:
    """Train under `out`; the folder then holds the generator and a copy of its tokenizer."""
    out = Path(out)
    t0 = time.perf_counter()
    tokenizer = FaceTokenizer.load(tokenizer_dir)
    train_pairs = load_tokenized_pairs(data, "train", tokenizer, progress=progress)
    val_pairs = load_tokenized_pairs(data, "val", tokenizer, progress=progress)
    mean, std = audio_statistics(train_pairs)
    config = replace(config, vocab=tokenizer.vocab_size, levels=token_levels(tokenizer), audio_mean=mean, audio_std=std,
                     face_mean=tokenizer.config.face_mean, face_std=tokenizer.config.face_std)
    torch.manual_seed(train.seed)
    model = ReactionGenerator(config)
    if not resume:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    task = GeneratorTask(model, train_pairs, val_pairs)
    val = Trainer(train, out, progress=progress).fit(task, resume=resume, max_steps=max_steps)
    if max_steps is not None or not is_main_process():
        return model
    tokenizer.save(out / "tokenizer")
    metrics = {**{f"val_{k}": v for k, v in val.items()}, "train_seconds": round(time.perf_counter() - t0, 1)}
    model.save(out, {"train": asdict(train), "val": metrics})
    write_text_atomic(out / "val_metrics.json", json.dumps(metrics, indent=2) + "\n")
    return model


def load_generator(folder: str | Path) -> tuple[ReactionGenerator, FaceTokenizer]:
    """A trained generator folder: the generator and its tokenizer."""
    return ReactionGenerator.load(folder), FaceTokenizer.load(Path(folder) / "tokenizer")
