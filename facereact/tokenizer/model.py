"""The face tokenizer: 3DMM frames -> one token per frame -> 3DMM and emotion.

Encoder and decoders are causal banded transformer stacks (facereact.nn.blocks): frame t's
token depends on frames t - context .. t, and its decoded face on tokens t - context .. t. A whole
clip is encoded and decoded in one pass, so there are no block boundaries to jump at (the
authors' independent 32-frame blocks made visible jumps), and tokens of a speaker's face are
online-safe (no look-ahead). The emotion a decode returns is read off the decoded face and its
recent motion (tokenizer/emotion.py), which looks only at past frames too.

Its users (the generator's training, the sessions, the benchmark) see codes, `levels` and four
verbs: `encode` and `decode` for whole clips, `encode_step` and `decode_step` for one frame of a
stream, each with a state object of its own.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facereact.layout import EMOTION_DIM, FACE_DIM, FACE_GROUPS, FPS, MOTION_GROUPS
from facereact.model_files import CONFIG_FILE, config_from_dict, load_model_files, load_weights, save_model
from facereact.nn.blocks import Stack
from facereact.nn.streaming import State
from facereact.tokenizer.emotion import FaceEmotionReader
from facereact.tokenizer.quantizers import QuantizedResult, build_quantizer

KIND = "tokenizer"


@dataclass
class TokenizerConfig:
    """What defines a tokenizer: its quantizer, sizes and the corpus's face normalisation. How it
    is trained (window, loss weights) is tokenizer.training.TokenizerLoss's."""

    quantizer: str = "fsq"  # fsq | vq | lfq
    # FSQ: 5 levels x 8 dimensions, 390 625 tokens. The authors' 8-5-5-5 (1000) holds ~4 coarse
    # scalars a frame and drops head pitch and the lips of an "mm-hmm" (docs/tokenizer.md); the
    # generator predicts the big grid digit by digit.
    levels: tuple[int, ...] = (5,) * 8
    codebook_size: int = 1000  # VQ; LFQ rounds to a power of two
    vq_dim: int = 16
    reader_width: int = 128  # the face-to-emotion reader's hidden layers
    reader_layers: int = 2
    width: int = 96
    layers: int = 2
    heads: int = 4
    emotion_layers: int = 2  # the token-vector emotion decoder that trains the tokens
    context: int = 16  # frames of past each frame attends to
    dropout: float = 0.0
    fps: int = FPS  # the corpus's frame rate: the emotion reader's motion windows are in seconds
    face_mean: list[float] = field(default_factory=lambda: [0.0] * FACE_DIM)
    face_std: list[float] = field(default_factory=lambda: [1.0] * FACE_DIM)

    @classmethod
    def authors(cls, **overrides) -> "TokenizerConfig":
        """The published size (12 layers, 12 heads, width 252): a GPU model."""
        return cls(**{"width": 252, "layers": 12, "heads": 12, "emotion_layers": 12, **overrides})


@dataclass
class TokenizerOutput:
    """Training's view of a clip: the decoded face, the token vectors' emotion, the quantizer's
    result and the encoder's output before quantization (the usage term reads it)."""

    face: torch.Tensor  # (B, T, FACE_DIM) in the corpus's units
    emotion: torch.Tensor  # (B, T, EMOTION_DIM)
    quantized: QuantizedResult
    latent: torch.Tensor  # (B, T, quantizer dim)


class FaceTokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.config = config
        self.quantizer = build_quantizer(config.quantizer, tuple(config.levels), config.codebook_size, config.vq_dim)
        stack = dict(width=config.width, layers=config.layers, heads=config.heads, context=config.context,
                     dropout=config.dropout)
        self.encoder = Stack(FACE_DIM, self.quantizer.dim, **stack)
        self.face_decoder = Stack(self.quantizer.dim, FACE_DIM, **stack)
        # Reads the emotion off the token vectors; trained with the rest, it is what makes the tokens
        # keep the lips of an "mm-hmm". Decodes read the emotion with emotion_reader instead.
        self.emotion_decoder = Stack(self.quantizer.dim, EMOTION_DIM, **{**stack, "layers": config.emotion_layers})
        self.register_buffer("face_mean", torch.tensor(config.face_mean, dtype=torch.float32))
        self.register_buffer("face_std", torch.tensor(config.face_std, dtype=torch.float32))
        std = self.face_std
        self.register_buffer("group_scale", torch.stack([std[s].mean() for s in FACE_GROUPS.values()]))
        # Built last, so that everything before it starts from the same random weights as without it.
        self.emotion_reader = FaceEmotionReader(FACE_DIM, EMOTION_DIM, config.reader_width, config.reader_layers,
                                                config.fps)

    @property
    def levels(self) -> tuple[int, ...]:
        """The digits of a code (FSQ's levels; one level for a flat codebook)."""
        return self.quantizer.levels

    @property
    def vocab_size(self) -> int:
        return self.quantizer.codebook_size

    def normalize(self, face: torch.Tensor) -> torch.Tensor:
        return (face - self.face_mean) / self.face_std

    def denormalize(self, face: torch.Tensor) -> torch.Tensor:
        return face * self.face_std + self.face_mean

    # -- whole clips ------------------------------------------------------------------------------
    def quantize(self, face: torch.Tensor) -> QuantizedResult:
        """(B, T, FACE_DIM) faces -> quantized vectors and (B, T) tokens."""
        return self.quantizer(self.encoder(self.normalize(face)))

    def encode(self, face: torch.Tensor) -> torch.Tensor:
        """(B, T, FACE_DIM) faces in corpus units -> (B, T) codes."""
        return self.quantize(face).codes

    def decode_vectors(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Quantized vectors -> faces in corpus units and the emotion read off them."""
        face = self.face_decoder(vectors)
        return self.denormalize(face), self.emotion_reader(face)

    def decode(self, codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) codes -> faces (B, T, FACE_DIM) in corpus units and emotions (B, T, EMOTION_DIM)."""
        return self.decode_vectors(self.quantizer.codes_to_vectors(codes))

    # -- one frame of a stream --------------------------------------------------------------------
    def init_encode_state(self, rows: int) -> list[State]:
        """A new stream of the face encoder (encode_step) for `rows` rows."""
        return self.encoder.init_state(rows)

    def encode_step(self, face: torch.Tensor, state: list[State], rows: np.ndarray | None = None) -> torch.Tensor:
        """(B, FACE_DIM) the next face frame -> (B,) its codes; equal to encode's over a clip.
        rows: which rows of the state these B frames advance (None: all)."""
        return self.quantizer(self.encoder.step(self.normalize(face)[:, None], state, rows)).codes[:, 0]

    def init_decode_state(self, rows: int) -> State:
        """A new stream of decode_step: the face decoder's past and the emotion reader's."""
        return {"face": self.face_decoder.init_state(rows),
                "motion": self.emotion_reader.init_state(rows, self.face_mean.shape[0])}

    def decode_step(self, codes: torch.Tensor, state: State,
                    rows: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,) the next frame's codes -> faces (B, FACE_DIM) in corpus units and emotions
        (B, EMOTION_DIM); equal to decode's over a clip. rows: as in encode_step."""
        face = self.face_decoder.step(self.quantizer.codes_to_vectors(codes)[:, None], state["face"], rows)
        emotion = self.emotion_reader.step(face, state["motion"], rows)
        return self.denormalize(face)[:, 0], emotion[:, 0]

    # -- training and files -----------------------------------------------------------------------
    def forward(self, face: torch.Tensor) -> TokenizerOutput:
        """Training's view: the emotion here is the token vectors' (see emotion_decoder)."""
        latent = self.encoder(self.normalize(face))
        q = self.quantizer(latent)
        return TokenizerOutput(self.denormalize(self.face_decoder(q.vectors)), self.emotion_decoder(q.vectors), q,
                               latent)

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        save_model(folder, self, KIND, {KIND: asdict(self.config), **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path) -> "FaceTokenizer":
        state, config = load_model_files(folder, KIND)
        model = cls(config_from_dict(TokenizerConfig, config.get(KIND), Path(folder) / CONFIG_FILE))
        load_weights(model, state, folder)
        return model.eval()


def grouped_l1(pred: torch.Tensor, target: torch.Tensor,
               group_scale: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Mean over the 13 face regions of each region's mean L1: small regions count as much as the mouth.

    group_scale (13,) divides each region's error by one typical spread of that region, so head pose
    (hundredths of a radian) weighs as much as the blendshapes while, inside a region, a channel
    that is almost always still (its spread mostly sensor noise) is not inflated to unit scale.
    """
    per_group = {name: (pred[..., s] - target[..., s]).abs().mean() for name, s in FACE_GROUPS.items()}
    values = torch.stack(list(per_group.values()))
    if group_scale is not None:
        values = values / group_scale
    return values.mean(), per_group


def region_change_scale(faces: list[np.ndarray]) -> np.ndarray:
    """(MOTION_DIM,) each motion region's mean absolute frame-to-frame change over these clips
    (floored: a region that never moves must not divide by zero)."""
    totals, frames = np.zeros(len(MOTION_GROUPS)), 0
    for face in faces:
        change = np.abs(np.diff(np.asarray(face, np.float64), axis=0))
        totals += [change[:, s].mean(1).sum() for s in MOTION_GROUPS.values()]
        frames += len(change)
    return np.maximum(totals / max(frames, 1), 1e-6).astype(np.float32)


def grouped_change_l1(pred: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mean over the motion regions of each region's mean L1 between the frame-to-frame changes of
    (B, T, FACE_DIM) faces, each region's divided by its typical change `scale` (MOTION_DIM,)."""
    error = (pred.diff(dim=1) - target.diff(dim=1)).abs()
    return torch.stack([error[..., s].mean() for s in MOTION_GROUPS.values()]).div(scale).mean()


def grouped_squared(pred: torch.Tensor, target: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the face regions of each region's mean squared error, each channel's error divided
    by scale (FACE_DIM,): a brief large excursion (a blink) costs what it looks like, where L1 lets
    it go as a rounding error."""
    error = pred - target if scale is None else (pred - target) / scale
    return torch.stack([error[..., s].square().mean() for s in FACE_GROUPS.values()]).mean()
