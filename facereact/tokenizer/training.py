"""Training the face tokenizer: grouped L1 + grouped squared error + the token vectors' emotion
error, then, on the frozen tokens, the emotion reader alone."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facereact.data.corpus import ReactCorpus
from facereact.data.mars import MarsCorpus, is_mars
from facereact.data.rates import corpus_rates
from facereact.data.stats import EMOTION_STD_FLOOR, FACE_STD_FLOOR, mean_std
from facereact.errors import UsageError
from facereact.layout import FACE_GROUPS
from facereact.tokenizer.model import (FaceTokenizer, TokenizerConfig, grouped_change_l1, grouped_l1, grouped_squared,
                                       region_change_scale)
from facereact.tokenizer.quantizers import usage_stats
from facereact.train import schedules
from facereact.train.phases import Phase, fit_phases, save_trained
from facereact.train.schedules import JOINT_SHARE, TrainConfig, reader_floor
from facereact.train.settings import check_settings
from facereact.train.windows import draw_window, long_enough, windows_per_epoch

SCHEDULE = schedules.TOKENIZER
READER_SCHEDULE = schedules.READER


@dataclass
class TokenizerLoss:
    """How a tokenizer is trained, beside the trainer's schedule (TrainConfig)."""

    window: int = 64  # training window length in frames
    # Weight of a squared error (per region, in normalised units) beside the grouped L1. L1 lets
    # brief large excursions go: without it the tokens drop blinks entirely (decoded/real
    # correlation 0.02; 0.99 with it).
    squared_weight: float = 1.0
    # Weight of a squared error on the emotion beside its L1. L1's best guess of a rare binary AU
    # (a lip press in 5% of frames) is always 0, so on its own it never asks the tokens to keep one.
    emotion_squared_weight: float = 4.0
    # FSQ only: weight of the codebook-entropy term that spreads frames over the grid's codes. It
    # rescued the authors' 1000-code grid (usage 61% -> 97%; use 0.1 there); the default grid is not
    # crowded without it.
    usage_weight: float = 0.0
    # Share of the face reader's training windows (phase 2) that start at a clip's first frame and
    # are scored from it. Elsewhere a window's first frames are not scored (their motion history
    # is cut off by the window); at a clip's start there is no history, in the labels either: a
    # corpus whose emotion is computed per clip (the synthetic ones: arousal rises from tanh(-1)
    # over the first half second) teaches the reader its start, one that is not teaches that too.
    clip_starts: float = 0.25
    # Weight of an L1 on the decoded face's frame-to-frame changes (per region, the head's pitch,
    # yaw and roll apart, each in units of its typical change). The grouped L1 on the face itself
    # prices a nod by its size against the head's slow drift, and a token that holds the drift
    # and drops the nod costs little there; a nod is all change, and this prices it as such.
    motion_weight: float = 1.0

    def __post_init__(self) -> None:
        check_settings(self, weights=("squared_weight", "emotion_squared_weight", "usage_weight", "motion_weight"),
                       shares=("clip_starts",))


def load_person_clips(root: str | Path, split: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(face, emotion) of every person clip of a split, REACT 2024 or MARS."""
    if is_mars(root):
        corpus = MarsCorpus(root, split)
        return [(corpus.coefficients(c), corpus.attributes(c).copy()) for c in corpus.clips]  # copies: tensors
    corpus = ReactCorpus(root, split)
    return [corpus.load_person(c) for c in corpus.clips()]


def _frames(clip: tuple[np.ndarray, np.ndarray]) -> int:
    return len(clip[0])


class WindowTask:
    """Random windows of person clips; subclasses define the model and the loss."""

    def __init__(self, tokenizer: FaceTokenizer, train: list, val: list, loss: TokenizerLoss) -> None:
        self.tokenizer, self.settings = tokenizer, loss
        self.train_clips = long_enough(train, _frames, loss.window)
        self.val_clips = val

    def num_items(self) -> int:
        return windows_per_epoch(self.train_clips, _frames, self.settings.window)

    def make_batch(self, indices: list[int], seeds: list[int], device: torch.device):
        return self.windows(indices, seeds, device)[:2]

    def windows(self, indices: list[int], seeds: list[int], device: torch.device,
                clip_starts: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Faces and emotions of each item's window, and where each window starts; a share
        `clip_starts` of them is taken at the clip's first frame instead (no draw when 0)."""
        faces, emotions, starts = [], [], []
        for index, seed in zip(indices, seeds):
            face, emotion = self.train_clips[index % len(self.train_clips)]
            window, rng = draw_window(seed, len(face), self.settings.window)
            if clip_starts > 0 and rng.random() < clip_starts:
                window = slice(0, self.settings.window)
            faces.append(face[window])
            emotions.append(emotion[window])
            starts.append(window.start)
        return (torch.from_numpy(np.stack(faces)).to(device), torch.from_numpy(np.stack(emotions)).to(device),
                torch.tensor(starts, device=device))

    def validate(self, model: nn.Module) -> dict[str, float]:
        return evaluate_tokenizer(self.tokenizer, self.val_clips)


def emotion_error(pred: torch.Tensor, target: torch.Tensor, squared_weight: float, scale: torch.Tensor | None = None,
                  skip: int | torch.Tensor = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, L1): L1 plus squared_weight times the squared error, each column's error divided by
    scale (EMOTION_DIM,), frames before `skip` of each (B, T, C) window left out (an int, or (B,)
    one per window: then each window's mean counts alike); the L1 returned is in the emotion's own
    units."""
    error = pred - target
    scaled = error if scale is None else error / scale
    if isinstance(skip, int):
        error, scaled = error[:, skip:], scaled[:, skip:]
        return scaled.abs().mean() + squared_weight * scaled.square().mean(), error.abs().mean()
    scored = (torch.arange(error.shape[1], device=error.device)[None] >= skip[:, None]).to(error.dtype)[..., None]
    count = scored.sum((1, 2)) * error.shape[-1]

    def mean(x: torch.Tensor) -> torch.Tensor:
        # each window's own mean, then the mean over windows: torchrun's processes, each averaging
        # its share of the windows, then average to exactly the one-process figure
        return ((x * scored).sum((1, 2)) / count).mean()

    return mean(scaled.abs()) + squared_weight * mean(scaled.square()), mean(error.abs())


class JointTask(WindowTask):
    """Phase 1: encoder, quantizer and both decoders; the face reader waits for phase 2."""

    def __init__(self, tokenizer: FaceTokenizer, train: list, val: list, loss: TokenizerLoss) -> None:
        super().__init__(tokenizer, train, val, loss)
        tokenizer.emotion_reader.requires_grad_(False)  # unused here: no optimizer slot, no DDP gradient
        self.change_scale = torch.from_numpy(region_change_scale([face for face, _ in self.train_clips]))

    @property
    def model(self) -> nn.Module:
        return self.tokenizer

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        face, emotion = batch
        out = model(face)
        tok, how = self.tokenizer, self.settings
        face_loss, _ = grouped_l1(out.face, face, tok.group_scale)
        squared_loss = grouped_squared(out.face, face, tok.face_std)
        # Unscaled here: scaled (in a trial that read the emotion off the decoded face), the rare
        # expression columns (spread 0.05) outweighed the face: perplexity 14 000 -> 244, face L1 +40%.
        emotion_loss, emotion_l1 = emotion_error(out.emotion, emotion, how.emotion_squared_weight)
        aux = out.quantized.aux_loss
        if how.usage_weight > 0:
            aux = aux + how.usage_weight * tok.quantizer.usage_deficit(out.latent)
        total = face_loss + how.squared_weight * squared_loss + emotion_loss + aux
        logs = {"face_l1": face_loss.item(), "squared": squared_loss.item(), "emotion_l1": emotion_l1.item()}
        if how.motion_weight > 0:
            motion_loss = grouped_change_l1(out.face, face, self.change_scale.to(face.device))
            total = total + how.motion_weight * motion_loss
            logs["motion_l1"] = motion_loss.item()
        return total, logs


class EmotionTask(WindowTask):
    """Phase 2: the tokenizer frozen, only the face-to-emotion reader learns, each column's error
    divided by its spread in training (`scale`), so that arousal and valence (spread ~0.2) count as
    much as a binary AU (~0.4), as they do in FRCorr's sum of CCCs."""

    def __init__(self, tokenizer: FaceTokenizer, train: list, val: list, loss: TokenizerLoss,
                 scale: list[float]) -> None:
        super().__init__(tokenizer, train, val, loss)
        tokenizer.emotion_reader.requires_grad_(True)
        self.scale = torch.tensor(scale, dtype=torch.float32)

    @property
    def model(self) -> nn.Module:
        return self.tokenizer.emotion_reader

    def make_batch(self, indices: list[int], seeds: list[int], device: torch.device):
        return self.windows(indices, seeds, device, self.settings.clip_starts)

    def loss(self, model: nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
        face, emotion, starts = batch
        tok = self.tokenizer
        for frozen in (tok.encoder, tok.quantizer, tok.face_decoder, tok.emotion_decoder):
            frozen.eval()  # frozen means frozen: no dropout, and no EMA updates of a VQ codebook
        with torch.no_grad():
            decoded = tok.face_decoder(tok.quantize(face).vectors)
        # The first `history` frames of a window (MOTION_HISTORY at 25 fps) have their motion
        # history cut off by the window, not by the face: scoring them taught the reader to
        # distrust motion. A window not much longer than that keeps its second half (an empty one
        # gave a NaN loss). A window at a clip's start is scored whole: nothing was cut off.
        skip = torch.where(starts == 0, 0, min(tok.emotion_reader.history, self.settings.window // 2))
        loss, l1 = emotion_error(model(decoded), emotion, self.settings.emotion_squared_weight,
                                 self.scale.to(face.device), skip)
        return loss, {"emotion_l1": l1.item()}


@torch.no_grad()
def decode_in_blocks(tokenizer: FaceTokenizer, codes: torch.Tensor, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode independent `block`-frame blocks, the authors' scheme: kept only to measure (and
    show) the jumps it makes at block boundaries."""
    vectors = tokenizer.quantizer.codes_to_vectors(codes)
    parts = [tokenizer.decode_vectors(vectors[:, s:s + block]) for s in range(0, codes.shape[1], block)]
    return torch.cat([p[0] for p in parts], 1), torch.cat([p[1] for p in parts], 1)


def same_length_batches(clips: list, size: int = 16) -> list[list[int]]:
    """Indices of `clips` ((face, emotion) pairs) in groups of one length, at most `size` each: a
    group encodes and decodes as one batch."""
    by_length: dict[int, list[int]] = {}
    for i, (face, _) in enumerate(clips):
        by_length.setdefault(len(face), []).append(i)
    return [group[s:s + size] for group in by_length.values() for s in range(0, len(group), size)]


@torch.no_grad()
def evaluate_tokenizer(tokenizer: FaceTokenizer, clips: list) -> dict[str, float]:
    """Whole-clip reconstruction: 3DMM L1 per region (corpus units), emotion L1, the mean-face
    baseline's L1, codebook usage and perplexity; each figure a mean over clips."""
    was_training = tokenizer.training
    tokenizer.eval()
    errors = {name: [] for name in FACE_GROUPS}
    face_err, emotion_err, mean_face_err, codes = [], [], [], []
    mean = tokenizer.face_mean.cpu().numpy()
    for batch in same_length_batches(clips):  # clips of one length side by side: 2x faster than one by one
        x = torch.from_numpy(np.stack([clips[i][0] for i in batch]))
        tokens = tokenizer.encode(x)
        rec_face, rec_emotion = tokenizer.decode(tokens)
        diff = (rec_face - x).abs().numpy()
        face_err.extend(diff.mean((1, 2)))
        for name, s in FACE_GROUPS.items():
            errors[name].extend(diff[:, :, s].mean((1, 2)))
        emotion = torch.from_numpy(np.stack([clips[i][1] for i in batch]))
        emotion_err.extend((rec_emotion - emotion).abs().mean((1, 2)).tolist())
        mean_face_err.extend(np.abs(x.numpy() - mean).mean((1, 2)))
        codes.append(tokens.reshape(-1))
    tokenizer.train(was_training)
    result = {f"l1_{name}": float(np.mean(v)) for name, v in errors.items()}
    # Both over all channels and frames, so that their ratio compares like with like.
    result["face_l1"] = float(np.mean(face_err))
    result["mean_face_l1"] = float(np.mean(mean_face_err))
    result["emotion_l1"] = float(np.mean(emotion_err))
    result.update(usage_stats(torch.cat(codes), tokenizer.vocab_size))
    return result


def reader_phase(tokenizer: FaceTokenizer, train_clips: list, val_clips: list, loss: TokenizerLoss,
                 train: TrainConfig) -> Phase:
    """Phase 2: the face-to-emotion reader alone, each emotion column scaled by its spread in training."""
    _, emotion_scale = mean_std([e for _, e in train_clips], EMOTION_STD_FLOOR)
    return Phase("emotion", lambda: EmotionTask(tokenizer, train_clips, val_clips, loss, emotion_scale), train)


def train_tokenizer(data: str | Path, out: str | Path, config: TokenizerConfig = TokenizerConfig(),
                    train: TrainConfig = SCHEDULE, loss: TokenizerLoss = TokenizerLoss(), resume: bool = False,
                    progress: bool = True, max_steps: int | None = None) -> FaceTokenizer:
    """Train phase 1 then phase 2 under `out`, save the model there, and write val metrics."""
    if loss.usage_weight > 0 and config.quantizer != "fsq":
        raise UsageError(f"usage_weight is FSQ's codebook-entropy term; the {config.quantizer} quantizer has its own")
    out = Path(out)
    t0 = time.perf_counter()
    train_clips = load_person_clips(data, "train")
    val_clips = load_person_clips(data, "val")
    mean, std = mean_std([f for f, _ in train_clips], FACE_STD_FLOOR)
    config = replace(config, face_mean=mean, face_std=std, fps=corpus_rates(data).fps)
    torch.manual_seed(train.seed)
    tokenizer = FaceTokenizer(config)
    joint_epochs = max(1, round(train.epochs * JOINT_SHARE))
    phases = [Phase("joint", lambda: JointTask(tokenizer, train_clips, val_clips, loss),
                    replace(train, epochs=joint_epochs)),
              reader_phase(tokenizer, train_clips, val_clips, loss,
                           replace(train, epochs=max(1, train.epochs - joint_epochs),
                                   min_steps=reader_floor(train.min_steps)))]
    if fit_phases(phases, out, resume, progress, max_steps) is None:
        return tokenizer  # interrupted on purpose: resume later
    metrics = evaluate_tokenizer(tokenizer, val_clips)
    metrics.update(boundary_jumps(tokenizer, val_clips))
    metrics["train_seconds"] = round(time.perf_counter() - t0, 1)
    save_trained(tokenizer, out, metrics, train, asdict(loss))
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
        series = {"jump_ratio_blocks": decode_in_blocks(tokenizer, tokens, block)[0][0].numpy(),
                  "jump_ratio_whole": tokenizer.decode(tokens)[0][0].numpy(), "jump_ratio_real": face}
        for key, seq in series.items():
            steps = np.abs(np.diff(seq, axis=0)).mean(1)  # steps[t - 1] = change from t - 1 to t
            at_boundary = np.zeros(len(steps), bool)
            at_boundary[np.arange(block, len(seq), block) - 1] = True
            ratios[key].append(steps[at_boundary].mean() / steps[~at_boundary].mean())
    return {k: float(np.mean(v)) for k, v in ratios.items() if v}


def train_reader(data: str | Path, tokenizer_dir: str | Path, out: str | Path,
                 train: TrainConfig = READER_SCHEDULE,
                 loss: TokenizerLoss = TokenizerLoss(), resume: bool = False, progress: bool = True,
                 max_steps: int | None = None) -> FaceTokenizer:
    """A trained tokenizer with a new face-to-emotion reader: phase 2 alone, from a fresh reader,
    `train.epochs` epochs, written to `out` (may be the tokenizer's own folder, or a generator's
    copy of it). The tokens do not change, so every generator trained on them stays valid."""
    tokenizer = FaceTokenizer.load(tokenizer_dir)
    if tokenizer.config.fps != corpus_rates(data).fps:
        raise UsageError(f"{tokenizer_dir}: a tokenizer of a {tokenizer.config.fps} fps corpus; {data} is not")
    t0 = time.perf_counter()
    train_clips, val_clips = load_person_clips(data, "train"), load_person_clips(data, "val")
    torch.manual_seed(train.seed)
    for layer in tokenizer.emotion_reader.modules():
        if isinstance(layer, nn.Linear):
            layer.reset_parameters()
    phase = reader_phase(tokenizer, train_clips, val_clips, loss, train)
    if fit_phases([phase], out, resume, progress, max_steps) is None:
        return tokenizer
    metrics = evaluate_tokenizer(tokenizer, val_clips)
    metrics["train_seconds"] = round(time.perf_counter() - t0, 1)
    save_trained(tokenizer, out, metrics, train, asdict(loss))
    return tokenizer
