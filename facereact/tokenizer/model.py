"""The face tokenizer: 3DMM frames -> one token per frame -> 3DMM and emotion.

Encoder and decoders are causal banded transformer stacks (facereact.nn.blocks): frame t's
token depends on frames t - context .. t, and its decoded face on tokens t - context .. t. A whole
clip is encoded and decoded in one pass, so there are no block boundaries to jump at (the
authors' independent 32-frame blocks made visible jumps), and tokens of a speaker's face are
online-safe (no look-ahead). The emotion a decode returns is read off the decoded face and its
recent motion (tokenizer/emotion.py), which looks only at past frames too.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from facereact.layout import EMOTION_DIM, FACE_DIM, FACE_GROUPS
from facereact.nn.blocks import Stack
from facereact.tokenizer.emotion import MOTION_HISTORY, FaceEmotionReader
from facereact.tokenizer.quantizers import QuantizedResult, build_quantizer
from facereact.train.checkpoint import load_model_files, load_weights, save_model


@dataclass
class TokenizerConfig:
    quantizer: str = "fsq"  # fsq | vq | lfq
    # FSQ: 5 levels x 8 dimensions, 390 625 tokens. The authors' 8-5-5-5 (1000) holds ~4 coarse
    # scalars a frame and drops head pitch (decoded/real correlation 0.09) and the lips of an
    # "mm-hmm"; 8 dimensions keep them (0.82, 0.93). The generator predicts it digit by digit.
    levels: tuple[int, ...] = (5,) * 8
    codebook_size: int = 1000  # VQ; LFQ rounds to a power of two
    vq_dim: int = 16
    # FSQ only: weight of the codebook-entropy term that spreads frames over the grid's codes. It
    # rescued the 1000-code grid (usage 61% -> 97%, perplexity 156 -> 727, use 0.1 there); the big
    # grid is not crowded without it (perplexity 11 000).
    usage_weight: float = 0.0
    # Weight of a squared error (per region, in normalised units) beside the grouped L1. L1 lets
    # brief large excursions go: without it the tokens drop blinks entirely (decoded/real
    # correlation 0.02; 0.99 with it) and the decoded arousal follows less (CCC 0.34 -> 0.46).
    squared_weight: float = 1.0
    # Weight of a squared error on the emotion beside its L1. L1's best guess of a rare binary AU
    # (a lip press in 5% of frames) is always 0, so on its own it never asks the tokens to keep one.
    # With it (4.0) and the 8-dimension grid, the perfect sampler's faces through the tokenizer
    # score FRCorr 1.93 on the demo corpus, against 1.65 (AU23 CCC 0.00 -> 0.30).
    emotion_squared_weight: float = 4.0
    # What decodes read the emotion off: "face", the decoded face and its motion energy, frame by
    # frame (tokenizer/emotion.py, trained after the joint phase), or "tokens", the token vectors
    # (the joint phase's emotion decoder; folders from before the face reader).
    emotion_reader: str = "face"
    reader_width: int = 128  # the face reader's hidden layers (emotion_layers sizes the token decoder)
    reader_layers: int = 2
    width: int = 96
    layers: int = 2
    heads: int = 4
    emotion_layers: int = 2
    context: int = 16  # frames of past each frame attends to
    window: int = 64  # training window length in frames
    dropout: float = 0.0
    face_mean: list[float] = field(default_factory=lambda: [0.0] * FACE_DIM)
    face_std: list[float] = field(default_factory=lambda: [1.0] * FACE_DIM)
    # Each emotion column's error is divided by its spread in training, so that arousal and valence
    # (spread ~0.2) count as much as a binary AU (~0.4), as they do in FRCorr's sum of CCCs.
    emotion_scale: list[float] = field(default_factory=lambda: [1.0] * EMOTION_DIM)

    @classmethod
    def authors(cls, **overrides) -> "TokenizerConfig":
        """The published size (12 layers, 12 heads, width 252): a GPU model."""
        return cls(**{"width": 252, "layers": 12, "heads": 12, "emotion_layers": 12, **overrides})


@dataclass
class TokenizerOutput:
    face: torch.Tensor  # (B, T, FACE_DIM) in the corpus's units
    emotion: torch.Tensor  # (B, T, EMOTION_DIM)
    quantized: QuantizedResult


class FaceTokenizer(nn.Module):
    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        self.config = config
        self.quantizer = build_quantizer(config.quantizer, tuple(config.levels), config.codebook_size, config.vq_dim,
                                         config.usage_weight)
        stack = dict(width=config.width, layers=config.layers, heads=config.heads, context=config.context,
                     dropout=config.dropout)
        self.encoder = Stack(FACE_DIM, self.quantizer.dim, **stack)
        self.face_decoder = Stack(self.quantizer.dim, FACE_DIM, **stack)
        # Reads the emotion off the token vectors. Trained with the rest, it is what makes the tokens
        # keep the lips of an "mm-hmm": an emotion read off the decoded face instead let them go
        # (decoded/real mouthPress 0.93 -> 0.22, AU23 0.93 -> 0.37).
        self.emotion_decoder = Stack(self.quantizer.dim, EMOTION_DIM, **{**stack, "layers": config.emotion_layers})
        self.register_buffer("face_mean", torch.tensor(config.face_mean, dtype=torch.float32))
        self.register_buffer("face_std", torch.tensor(config.face_std, dtype=torch.float32))
        std = self.face_std
        self.register_buffer("group_scale", torch.stack([std[s].mean() for s in FACE_GROUPS.values()]))
        self.register_buffer("emotion_scale", torch.tensor(config.emotion_scale, dtype=torch.float32), persistent=False)
        if config.emotion_reader not in ("face", "tokens"):
            raise ValueError(f"emotion_reader must be 'face' or 'tokens', got {config.emotion_reader!r}")
        # Built last, so that everything before it starts from the same random weights as without it.
        self.emotion_reader = (FaceEmotionReader(FACE_DIM, EMOTION_DIM, config.reader_width, config.reader_layers)
                               if config.emotion_reader == "face" else None)

    @property
    def emotion_history(self) -> int:
        """Frames at the start of a training window whose emotion is not scored (their reading
        needs history the window cut off)."""
        return 0 if self.emotion_reader is None else MOTION_HISTORY

    @property
    def vocab_size(self) -> int:
        return self.quantizer.codebook_size

    def normalize(self, face: torch.Tensor) -> torch.Tensor:
        return (face - self.face_mean) / self.face_std

    def denormalize(self, face: torch.Tensor) -> torch.Tensor:
        return face * self.face_std + self.face_mean

    def quantize(self, face: torch.Tensor) -> QuantizedResult:
        """(B, T, FACE_DIM) faces -> quantized vectors and (B, T) tokens."""
        return self.quantizer(self.encoder(self.normalize(face)))

    def encode(self, face: torch.Tensor) -> torch.Tensor:
        return self.quantize(face).codes

    @property
    def final_emotion(self) -> nn.Module:
        """The module whose emotion a decode returns: the face reader where there is one."""
        return self.emotion_reader if self.emotion_reader is not None else self.emotion_decoder

    def emotion_input(self, vectors: torch.Tensor, face: torch.Tensor | None = None) -> torch.Tensor:
        """What final_emotion reads: the decoded face (normalised units; decoded here unless given)
        or the token vectors."""
        if self.emotion_reader is None:
            return vectors
        return self.face_decoder(vectors) if face is None else face

    def read_emotion_step(self, vectors: torch.Tensor, face: torch.Tensor, state: dict) -> torch.Tensor:
        return self.final_emotion.step(self.emotion_input(vectors, face), state)

    def decode_vectors(self, vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        face = self.face_decoder(vectors)
        return self.denormalize(face), self.final_emotion(self.emotion_input(vectors, face))

    def decode(self, codes: torch.Tensor, block: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) tokens -> faces and emotions. block=N decodes independent N-frame blocks, the
        authors' scheme, kept only to measure the jumps it causes."""
        vectors = self.quantizer.codes_to_vectors(codes)
        if block is None:
            return self.decode_vectors(vectors)
        parts = [self.decode_vectors(vectors[:, s:s + block]) for s in range(0, codes.shape[1], block)]
        return torch.cat([p[0] for p in parts], 1), torch.cat([p[1] for p in parts], 1)

    def forward(self, face: torch.Tensor) -> TokenizerOutput:
        """Training's view: the emotion here is always the token vectors' (see emotion_decoder)."""
        q = self.quantize(face)
        return TokenizerOutput(self.denormalize(self.face_decoder(q.vectors)), self.emotion_decoder(q.vectors), q)

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        save_model(folder, self, {"kind": "tokenizer", "tokenizer": asdict(self.config), **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path) -> "FaceTokenizer":
        state, config = load_model_files(folder)
        cfg = {"emotion_reader": "tokens", **config["tokenizer"]}  # folders from before the face reader
        model = cls(TokenizerConfig(**{**cfg, "levels": tuple(cfg["levels"])}))
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


def grouped_squared(pred: torch.Tensor, target: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the face regions of each region's mean squared error, each channel's error divided
    by scale (FACE_DIM,): a brief large excursion (a blink) costs what it looks like, where L1 lets
    it go as a rounding error."""
    error = pred - target if scale is None else (pred - target) / scale
    return torch.stack([error[..., s].square().mean() for s in FACE_GROUPS.values()]).mean()
