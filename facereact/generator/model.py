"""The reaction generator.

Speaker stream: per frame, the speaker's audio feature, face token (from the frozen tokenizer)
and continuous face + emotion, each projected and summed, then one transformer block per layer
(causal in online mode; banded both ways in offline mode). Listener stream: the previous listener
token (BOS at a clip's start). In every layer the listener block attends causally to its own
past and, through a gated cross-attention, to the same layer's speaker stream: online to speaker
frames t - context .. t, offline to t - context .. t + future. Every attention adds a learned bias
per frame offset (nn/position.py), so the listener knows when the speaker did what. The head
predicts the next token digit by digit.

Fixes to the public implementation (docs/generator.md): causal masks everywhere, per-item masks (no
batch mixing; windows have no padding), every row of every mask holds its own frame (no NaN),
every layer fuses, and the vocabulary is the tokenizer's (plus BOS and MASK), not 2048.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facereact.errors import DataError, UsageError
from facereact.generator.digits import DigitHead, TokenEmbedding
from facereact.generator.sampling import Sampling
from facereact.layout import AUDIO_DIM, AUDIO_FEATURES, EMOTION_DIM, FACE_DIM, FPS, MOTION_DIM
from facereact.model_files import CONFIG_FILE, config_from_dict, load_model_files, load_weights, save_model
from facereact.nn import ring
from facereact.nn.blocks import Block, band_mask, symmetric_band_mask
from facereact.nn.cross import ListenerBlock
from facereact.nn.streaming import State
from facereact.tokenizer.model import FaceTokenizer

KIND = "generator"


@dataclass
class GeneratorConfig:
    """What defines a generator: the tokenizer's levels, the setting, sizes and the speaker
    features' normalisation. How it is trained is generator.training.GeneratorTraining's."""

    # The token's digits (generator/digits.py): the tokenizer's levels, read and predicted one
    # digit at a time; one level is one flat softmax over the vocabulary (VQ, LFQ).
    levels: tuple[int, ...] = (1000,)
    offline: bool = False
    width: int = 128
    heads: int = 4
    layers: int = 3
    context: int = 100  # past frames every attention sees (4 s)
    # Offline only: speaker frames ahead the listener may see, as far as it looks back (4 s). On
    # the demo corpus 4 s beat 1 s once attention knew offsets: the speaker's answer to the
    # listener's smile, and the end of the listener's turn, come later.
    future: int = 100
    dropout: float = 0.1
    fps: int = FPS  # the corpus's frame rate and audio feature (data/rates.py): a model refuses others
    audio_feature: str = "mfcc"
    audio_mean: list[float] = field(default_factory=lambda: [0.0] * AUDIO_DIM)
    audio_std: list[float] = field(default_factory=lambda: [1.0] * AUDIO_DIM)
    face_mean: list[float] = field(default_factory=lambda: [0.0] * FACE_DIM)
    face_std: list[float] = field(default_factory=lambda: [1.0] * FACE_DIM)
    # Classifier-free guidance trained into the weights (generator/distill.py): this model's
    # plain distribution is its teacher's guided one, so it samples with guidance 1, one pass. 1: none.
    distilled_guidance: float = 1.0
    # A training-only head on the speaker stream that predicts whether each of the listener's face
    # regions is moving (generator/motion.py), beside its emotion: it makes the speaker layers carry
    # when the listener nods, which neither the tokens' loss nor the emotion does. Models saved
    # before it existed load without it.
    aux_motion: bool = True
    # Width of the listener's personality the generator is conditioned on (REACT 2026's Big Five,
    # layout.PERSONALITY_NAMES); 0: a generic model. A personal model also learns a listener of
    # unknown personality (training drops it from a share of windows), so it serves both tracks.
    personality: int = 0

    def __post_init__(self) -> None:
        if self.personality < 0:
            raise UsageError(f"personality width must be 0 (generic) or more, got {self.personality}")
        if self.audio_feature not in AUDIO_FEATURES:
            raise UsageError(f"audio feature '{self.audio_feature}': one of {sorted(AUDIO_FEATURES)}")
        if len(self.audio_mean) != self.audio_dim or len(self.audio_std) != self.audio_dim:
            raise UsageError(f"audio statistics of width {len(self.audio_mean)}, where {self.audio_feature} "
                             f"features have {self.audio_dim}")

    @property
    def vocab(self) -> int:
        return math.prod(self.levels)

    @property
    def audio_dim(self) -> int:
        return AUDIO_FEATURES[self.audio_feature]

    @classmethod
    def authors(cls, **overrides) -> "GeneratorConfig":
        """The published size: width 360, 12 heads, 8 layers, 256-frame context."""
        return cls(**{"width": 360, "heads": 12, "layers": 8, "context": 256, **overrides})


@dataclass
class GeneratorOutput:
    """The parallel forward's one result (teacher forcing)."""

    listener: torch.Tensor  # (B, T, width) states that predict each frame's token
    speaker_emotion: torch.Tensor  # (B, T, EMOTION_DIM) the speaker stream's own guess of the listener's emotion
    speaker_motion: torch.Tensor | None = None  # (B, T, MOTION_DIM) ... and logits of each face region moving
    nll: torch.Tensor | None = None  # (B, T) negative log-likelihood of the target tokens, when given
    logits: list[torch.Tensor] | None = None  # each digit's (B, T, levels_i) logits given the target's earlier digits
    right: torch.Tensor | None = None  # (B, T) whether every digit's greedy choice was right


def _present(x: torch.Tensor, on: torch.Tensor | None, absent: torch.Tensor) -> torch.Tensor:
    """x (B, T, W) where `on` (B,) or (B, T) is 1, the learned `absent` vector (W,) where it is 0."""
    if on is None:
        return x
    on = on.to(x.dtype)
    # lerp gives x exactly where on is 1 and `absent` exactly where it is 0, in one operation
    return torch.lerp(absent.to(x.dtype), x, on[:, None, None] if on.dim() == 1 else on[..., None])


def cross_mask(length: int, context: int, future: int, offline: bool, device: torch.device) -> torch.Tensor:
    """(T, T) True where listener frame t may see speaker frame s."""
    t = torch.arange(length, device=device)
    delta = t[:, None] - t[None, :]  # t - s
    return (delta <= context) & (delta >= (-future if offline else 0))


def speaker_self_mask(length: int, context: int, offline: bool, device: torch.device) -> torch.Tensor:
    return symmetric_band_mask(length, context, device) if offline else band_mask(length, context, device)


SAMPLING_KEY = "sampling"  # config.json: the sampling chosen on the model's validation split


class ReactionGenerator(nn.Module):
    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        # The sampling chosen on this model's own validation split (generator/choose.py), saved
        # beside its config; None: the house recommendation for its setting (sampling.own_sampling).
        self.chosen_sampling: Sampling | None = None
        w = config.width
        levels = tuple(config.levels)
        if not levels or any(l < 2 for l in levels):
            raise UsageError(f"token levels must be one or more numbers >= 2, got {levels}")
        self.bos = config.vocab
        self.mask = config.vocab + 1
        self.audio_in = nn.Linear(config.audio_dim, w)
        self.speaker_token_in = TokenEmbedding(levels, w)
        self.speaker_face_in = nn.Linear(FACE_DIM, w)
        self.speaker_emotion_in = nn.Linear(EMOTION_DIM, w, bias=False)
        # What an absent face or emotion looks like to the model (a robot with no camera, a tracker
        # that lost the face, no emotion labels): learned, never a fake neutral face or zeros.
        self.absent_face = nn.Parameter(torch.zeros(w))
        self.absent_emotion = nn.Parameter(torch.zeros(w))
        self.listener_in = TokenEmbedding(levels, w, specials=2)  # BOS, MASK
        context = config.context
        speaker_position = (context, context if config.offline else 0)
        future = config.future if config.offline else 0
        self.speaker_blocks = nn.ModuleList(Block(w, config.heads, config.dropout, speaker_position)
                                            for _ in range(config.layers))
        self.listener_blocks = nn.ModuleList(ListenerBlock(w, config.heads, config.dropout, context, future)
                                             for _ in range(config.layers))
        self.norm = nn.LayerNorm(w)
        self.head = DigitHead(levels, w)
        self.speaker_norm = nn.LayerNorm(w)
        self.listener_emotion_head = nn.Linear(w, EMOTION_DIM)  # training-only auxiliary head
        # Built after every other layer, so that those start from the same random weights as without it.
        self.listener_motion_head = nn.Linear(w, MOTION_DIM) if config.aux_motion else None
        # Who the listener is (their personality): one vector added to every listener frame, another
        # to every speaker frame, so that the speaker stream's guesses of the listener's emotion and
        # motion (the auxiliary heads) learn what the person changes; an unknown listener is
        # learned, as an absent input is. Built last, for the same reason.
        self.personality_in = nn.Linear(config.personality, 2 * w) if config.personality else None
        self.unknown_personality = nn.Parameter(torch.zeros(2 * w)) if config.personality else None
        for name in ("audio_mean", "audio_std", "face_mean", "face_std"):
            self.register_buffer(name, torch.tensor(getattr(config, name), dtype=torch.float32))

    # -- inputs -----------------------------------------------------------------------------------
    def speaker_embedding(self, audio: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor,
                          tokens: torch.Tensor, face_on: torch.Tensor | None = None,
                          emotion_on: torch.Tensor | None = None, who: torch.Tensor | None = None) -> torch.Tensor:
        """(B, T, ...) speaker features -> (B, T, width). face_on, emotion_on: (B,) or (B, T), 1 where
        that input is present, 0 where it is absent (its values then do not matter); None: present.
        who (B, 2 width): the listener (listener_condition), for a personal model."""
        audio = (audio - self.audio_mean) / self.audio_std
        face = (face - self.face_mean) / self.face_std
        seen = self.speaker_token_in(tokens) + self.speaker_face_in(face)
        felt = self.speaker_emotion_in(emotion)
        out = self.audio_in(audio) + _present(seen, face_on, self.absent_face) + \
            _present(felt, emotion_on, self.absent_emotion)
        return out if who is None else out + who[:, None, self.config.width:]

    @property
    def personal(self) -> bool:
        """Whether this generator is conditioned on the listener's personality."""
        return self.personality_in is not None

    def listener_condition(self, personality: torch.Tensor | None, known: torch.Tensor | None = None
                           ) -> torch.Tensor | None:
        """Who the listener is, as vectors (B, 2 width): the first half added to each listener
        frame, the second to each speaker frame. From personality (B, personality) where `known`
        (B,) is 1, the learned unknown listener where it is 0 or personality is None. None for a
        generic model (which refuses a personality)."""
        if not self.personal:
            if personality is not None:
                raise UsageError("this generator is generic: it takes no listener personality "
                                 "(train one with --personal)")
            return None
        if personality is None:
            return self.unknown_personality[None]
        if personality.shape[-1] != self.config.personality:
            raise UsageError(f"this generator reads a personality of {self.config.personality} values, "
                             f"got {personality.shape[-1]}")
        return _present(self.personality_in(personality)[:, None], known, self.unknown_personality)[:, 0]

    def speaker_layers(self, speaker: torch.Tensor) -> list[torch.Tensor]:
        """The speaker stream after each layer, in parallel over the whole sequence."""
        mask = speaker_self_mask(speaker.shape[1], self.config.context, self.config.offline, speaker.device)
        outs = []
        for block in self.speaker_blocks:
            speaker = block(speaker, mask)
            outs.append(speaker)
        return outs

    # -- training -------------------------------------------------------------------------------
    def forward(self, audio: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor, speaker_tokens: torch.Tensor,
                listener_in: torch.Tensor, target: torch.Tensor | None = None,
                speaker_on: torch.Tensor | None = None, face_on: torch.Tensor | None = None,
                emotion_on: torch.Tensor | None = None, personality: torch.Tensor | None = None,
                personality_on: torch.Tensor | None = None) -> GeneratorOutput:
        """Teacher forcing: listener_in[:, t] is the token before frame t; given target (B, T)
        tokens, also their negative log-likelihood. speaker_on (B,): 0 where an item's listener
        must not hear its speaker; face_on, emotion_on: see speaker_embedding; personality (B, P)
        and personality_on (B,): see listener_condition. (One forward for all, so that DDP's
        gradient hooks see every parameter.)"""
        cfg = self.config
        t = listener_in.shape[1]
        who = self.listener_condition(personality, personality_on)
        speaker = self.speaker_layers(self.speaker_embedding(audio, face, emotion, speaker_tokens, face_on,
                                                             emotion_on, who))
        own_mask = band_mask(t, cfg.context, listener_in.device)
        cmask = cross_mask(t, cfg.context, cfg.future, cfg.offline, listener_in.device)
        h = self.listener_in(listener_in)
        if who is not None:
            h = h + who[:, None, :cfg.width]
        on = None if speaker_on is None else speaker_on.to(h.dtype)[:, None, None]
        for block, s in zip(self.listener_blocks, speaker):
            k, v = block.cross.keys_values(s)
            h = block(h, own_mask, k, v, cmask, on)
        h = self.norm(h)
        heard = self.speaker_norm(speaker[-1])
        out = GeneratorOutput(h, self.listener_emotion_head(heard),
                              None if self.listener_motion_head is None else self.listener_motion_head(heard))
        if target is not None:
            out.logits = self.head.digit_logits(h, target)
            out.nll, out.right = self.head.nll(h, target, out.logits)
        return out

    # -- generation, one frame at a time -----------------------------------------------------------
    def init_state(self, clips: int, listener_rows: int) -> State:
        """A new stream of `clips` conversations of `listener_rows` listener rows each (K, or 2K
        with guidance): the listener layers' pasts and, online, the speaker layers' pasts and each
        layer's ring of speaker keys and values for the cross-attention (its last context + 1
        frames). Offline, prepare_offline adds the whole clip's keys and values ("cross")."""
        cfg = self.config
        state = {"listener": [block.init_state(clips * listener_rows, cfg.context) for block in self.listener_blocks]}
        if not cfg.offline:
            state["speaker"] = [block.init_state(clips, cfg.context) for block in self.speaker_blocks]
            state["cross"] = [ring.new_ring(clips, cfg.heads, cfg.context + 1, cfg.width // cfg.heads)
                              for _ in self.listener_blocks]
        return state

    def speaker_step(self, embedding: torch.Tensor, state: State, rows: np.ndarray | None = None) -> None:
        """Online: push one speaker frame (B, 1, width) through the speaker layers, for every row of
        `state` or for `rows` of it; keep each layer's keys and values for the listener."""
        keep = self.config.context + 1
        for block, lblock, own, cross in zip(self.speaker_blocks, self.listener_blocks, state["speaker"],
                                             state["cross"]):
            embedding = block.step(embedding, own, rows)
            ring.append(cross, keep, *lblock.cross.keys_values(embedding), rows)

    def prepare_offline(self, embedding: torch.Tensor, state: State) -> None:
        """Offline: the whole speaker clip (clips, T, width) at once; keys and values of every frame."""
        state["cross"] = [dict(zip(("keys", "values"), lblock.cross.keys_values(s)))
                          for s, lblock in zip(self.speaker_layers(embedding), self.listener_blocks)]

    def listener_step(self, previous: torch.Tensor, state: State, t: int,
                      speaker_on: torch.Tensor | None = None, rows: np.ndarray | None = None,
                      speakers: np.ndarray | None = None, who: torch.Tensor | None = None) -> torch.Tensor:
        """previous (K,) token ids before frame t -> (K, width) states that predict frame t's
        token (self.head.sample). speaker_on (K,): 0 for rows that run the listener-only model.
        Online, `rows` and `speakers` step some conversations only: their listener rows of the
        state and their speaker rows (one each, in the same order). who (K, 2 width): each row's
        listener (listener_condition), for a personal model."""
        cfg = self.config
        h = self.listener_in(previous)[:, None]
        if who is not None:
            h = h + who[:, None, :cfg.width]
        on = None if speaker_on is None else speaker_on[:, None, None]
        for block, own, cross in zip(self.listener_blocks, state["listener"], state["cross"]):
            if cfg.offline:
                lo, hi = max(0, t - cfg.context), t + cfg.future + 1
                h = block.step(h, own, cross["keys"][:, :, lo:hi], cross["values"][:, :, lo:hi], t - lo, on)
            else:  # the speaker's ring, newest frame t
                h = block.step_ring(h, own, cross, on, rows, speakers)
        return self.norm(h)[:, 0]

    # -- files ------------------------------------------------------------------------------------
    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        chosen = {} if self.chosen_sampling is None else {SAMPLING_KEY: asdict(self.chosen_sampling)}
        save_model(folder, self, KIND, {KIND: asdict(self.config), **chosen, **(extra or {})})

    @classmethod
    def load(cls, folder: str | Path) -> "ReactionGenerator":
        state, config = load_model_files(folder, KIND)
        values = config.get(KIND)
        if isinstance(values, dict) and "aux_motion" not in values:  # saved before the motion head
            values = {**values, "aux_motion": False}
        model = cls(config_from_dict(GeneratorConfig, values, Path(folder) / CONFIG_FILE))
        if config.get(SAMPLING_KEY) is not None:
            model.chosen_sampling = config_from_dict(Sampling, config[SAMPLING_KEY], Path(folder) / CONFIG_FILE)
        load_weights(model, state, folder)
        return model.eval()


def load_generator(folder: str | Path) -> tuple[ReactionGenerator, FaceTokenizer]:
    """A trained generator folder: the generator and its tokenizer (tokenizer/, a copy)."""

    generator, tokenizer = ReactionGenerator.load(folder), FaceTokenizer.load(Path(folder) / "tokenizer")
    if tokenizer.levels != tuple(generator.config.levels):
        raise DataError(Path(folder) / "tokenizer", f"a tokenizer of levels {tokenizer.levels}, where the "
                                                    f"generator reads {tuple(generator.config.levels)}")
    return generator, tokenizer
