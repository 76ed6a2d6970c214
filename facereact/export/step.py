"""The online listener's whole frame as one pure function of named state tensors: what
`facereact export` turns into an ONNX graph, so that any stack with an ONNX runtime can embed it.

    listener_face, listener_emotion, tokens, *next_state = ListenerStep(...)(pcm, face, face_on,
                                                                             uniforms, speaking, *state)

One conversation, K reactions. In: one frame of the speaker's PCM (features computed inside:
export/audio.py), the tracked face and its presence flag, K x digits uniform draws (the host owns
the random numbers, so a run is reproducible in any language), whether the listener itself speaks
(turn-taking: generator/turns.py) and the state. Out: the K listener faces, emotions and tokens as
shown, and the next state. Every state tensor has a fixed shape: each
attention keeps its last `context + 1` frames, oldest first, and masks the slots no frame has
reached (counted in `frames`, or `face_frames` for the face encoder, which starts over whenever a
face comes back after frames without one), as the rings of nn/ring.py do in the session.

The arithmetic is the session's (generator/session.py) in the same order where it matters
(guidance mixes the digit head's hidden activations; a digit is the first level whose cumulative
probability exceeds u x total), so the same frames give the same tokens (export checks it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from facereact.errors import UsageError
from facereact.export.audio import FrameMFCC
from facereact.generator.model import ReactionGenerator
from facereact.generator.sampling import Sampling
from facereact.generator.turns import TurnTaking
from facereact.nn.blocks import Block, Stack
from facereact.nn.cross import ListenerBlock
from facereact.nn.position import RelativeBias
from facereact.tokenizer.emotion import FaceEmotionReader
from facereact.tokenizer.model import FaceTokenizer
from facereact.tokenizer.quantizers import FSQ


@dataclass(frozen=True)
class Tensor:
    """One input or output of the step: its name, shape, dtype (numpy's name) and meaning; a state
    tensor's value when a conversation starts."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    meaning: str
    initial: int = 0


class ListenerStep(nn.Module):
    """The step of an online generator and its tokenizer, for K reactions under `sampling`
    (temperature, guidance and its ramp; top-k and top-p are not in the graph)."""

    def __init__(self, generator: ReactionGenerator, tokenizer: FaceTokenizer, samples: int, sampling: Sampling,
                 rate: int, read_emotion: bool = True, turns: TurnTaking = TurnTaking()) -> None:
        super().__init__()
        cfg = generator.config
        if cfg.offline:
            raise UsageError("an offline generator sees the whole speaker clip and cannot stream: export an online one")
        if generator.personal:
            raise UsageError("the export covers generic listeners; this generator is personal (--personal)")
        if cfg.audio_feature != "mfcc":
            raise UsageError(f"the export computes MFCC features from PCM; this generator hears {cfg.audio_feature}")
        if not isinstance(tokenizer.quantizer, FSQ):
            raise UsageError("the export covers FSQ tokenizers (a VQ or LFQ codebook is not exported)")
        if tokenizer.config.context is None:
            raise UsageError("the export needs a tokenizer with a bounded context")
        if sampling.top_k is not None or sampling.top_p is not None:
            raise UsageError("the exported step samples by temperature and guidance; top-k and top-p are not in it")
        if samples < 1:
            raise UsageError(f"samples (K) must be at least 1, got {samples}")
        self.generator, self.tokenizer = generator.eval(), tokenizer.eval()
        self.audio = FrameMFCC(rate, cfg.fps)
        self.samples, self.sampling, self.read_emotion, self.turns = samples, sampling, read_emotion, turns
        self.guided = sampling.guided
        self.rows = 2 * samples if self.guided else samples  # with guidance, K rows not hearing the speaker
        on = torch.cat([torch.ones(samples), torch.zeros(samples)]) if self.guided else torch.ones(samples)
        self.register_buffer("speaker_on", on[:, None], persistent=False)
        weight, bias, images = generator.head.fused()
        self.register_buffer("head_weight", weight.detach().clone(), persistent=False)
        self.register_buffer("head_bias", bias.detach().clone(), persistent=False)
        self.images = [image.detach().clone() for image in images]
        self.basis = [math.prod(generator.head.levels[:i]) for i in range(len(generator.head.levels))]
        self.state_tensors = self._state_tensors()

    # -- the contract -----------------------------------------------------------------------------
    @property
    def digits(self) -> int:
        return len(self.generator.head.levels)

    def inputs(self) -> list[Tensor]:
        face_dim = self.tokenizer.face_mean.shape[0]
        return [Tensor("pcm", (self.audio.samples,), "float32",
                       f"one frame of the speaker's mono audio, {self.audio.samples} samples at {self.audio.rate} Hz "
                       "in [-1, 1]"),
                Tensor("face", (1, face_dim), "float32",
                       "the speaker's tracked face this frame (any values when absent)"),
                Tensor("face_on", (1,), "float32", "1 when this frame has the speaker's face, 0 when not"),
                Tensor("uniforms", (self.samples, self.digits), "float32",
                       "uniform random numbers in [0, 1), one per reaction and token digit, drawn by the host"),
                Tensor("speaking", (1,), "float32", "1 when the listener itself speaks this frame (a robot's own "
                       "voice: no backchannels, its face held), 0 when it listens"),
                *[Tensor(f"state.{t.name}", t.shape, t.dtype, t.meaning) for t in self.state_tensors]]

    def outputs(self) -> list[Tensor]:
        face_dim, emotion_dim = self.tokenizer.face_mean.shape[0], self.generator.listener_emotion_head.out_features
        k = self.samples
        return [Tensor("listener_face", (k, face_dim), "float32",
                       "the K listener faces to show this frame, in corpus units"),
                Tensor("listener_emotion", (k, emotion_dim), "float32", "the K listener emotions to show this frame"),
                Tensor("tokens", (k,), "int64", "the K listener tokens this frame"),
                *[Tensor(f"next.{t.name}", t.shape, t.dtype, "the state for the next frame")
                  for t in self.state_tensors]]

    def initial_state(self) -> list[torch.Tensor]:
        """A new conversation's state, in `state_tensors` order: nothing heard, BOS the last token."""
        return [torch.full(t.shape, t.initial, dtype=torch.long if t.dtype == "int64" else torch.float32)
                for t in self.state_tensors]

    def _state_tensors(self) -> list[Tensor]:
        g, tok, k, rows = self.generator, self.tokenizer, self.samples, self.rows
        face_dim = tok.face_mean.shape[0]
        out = [Tensor("frames", (1,), "int64", "frames stepped"),
               Tensor("face_frames", (1,), "int64", "frames of the face encoder's stream (from the face's return)"),
               Tensor("face_seen", (1,), "float32", "1 when the last frame had a face"),
               Tensor("previous", (k,), "int64", "each reaction's last token (BOS before the first)", g.bos)]
        width, heads, keep = g.config.width, g.config.heads, g.config.context + 1
        for i, block in enumerate(g.speaker_blocks):
            out += _block_tensors(f"speaker.{i}", block, 1, keep, "the speaker layer's")
        for i in range(len(g.listener_blocks)):
            for part in ("keys", "values"):
                out.append(Tensor(f"cross.{i}.{part}", (1, heads, keep, width // heads), "float32",
                                  f"the speaker's cross-attention {part} of the last {keep} frames, oldest first"))
        for i, block in enumerate(g.listener_blocks):
            out += _block_tensors(f"listener.{i}", block.own, rows, keep, "the listener layer's")
        tok_keep = tok.config.context + 1
        for i, block in enumerate(tok.encoder.blocks):
            out += _block_tensors(f"encoder.{i}", block, 1, tok_keep, "the face encoder's")
        history = tok.emotion_reader.history
        out += [Tensor("reader.face", (1, face_dim), "float32", "the speaker's last normalised face (emotion reader)"),
                Tensor("reader.changes", (1, history, face_dim), "float32", "its last frame-to-frame changes")]
        for i, block in enumerate(tok.face_decoder.blocks):
            out += _block_tensors(f"decoder.{i}", block, k, tok_keep, "the face decoder's")
        out += [Tensor("decoder.face", (k, face_dim), "float32", "each reaction's last normalised face"),
                Tensor("decoder.changes", (k, history, face_dim), "float32", "their last frame-to-frame changes")]
        emotion_dim = g.listener_emotion_head.out_features
        out += [Tensor("turn.shown", (1,), "float32", "how far the held face is shown, 0 listening .. 1 speaking"),
                Tensor("turn.calm_face", (k, face_dim), "float32", "the generated faces, low-passed"),
                Tensor("turn.calm_emotion", (k, emotion_dim), "float32", "the generated emotions, low-passed"),
                Tensor("turn.held_face", (k, face_dim), "float32", "the faces shown while the listener speaks"),
                Tensor("turn.held_emotion", (k, emotion_dim), "float32", "the emotions shown meanwhile")]
        return out

    # -- the step ---------------------------------------------------------------------------------
    def forward(self, pcm: torch.Tensor, face: torch.Tensor, face_on: torch.Tensor, uniforms: torch.Tensor,
                speaking: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        s = dict(zip((t.name for t in self.state_tensors), state))
        nxt: dict[str, torch.Tensor] = {}
        g, tok = self.generator, self.tokenizer
        frames = s["frames"]

        # the speaker's face: its token, and its emotion read off it
        on = face_on > 0.5
        f = torch.where(on[:, None], face, tok.face_mean)
        restart = on & (s["face_seen"] < 0.5)  # a face after frames without one: a new face stream
        face_frames = torch.where(restart, torch.zeros_like(s["face_frames"]), s["face_frames"])
        normalized = tok.normalize(f)
        z = self._stack(tok.encoder, normalized, "encoder", s, nxt, face_frames, restart)
        token = torch.where(on, tok.quantizer(z).codes, torch.zeros_like(frames))
        for name in [n for n in nxt if n.startswith("encoder.")]:  # a frame without a face leaves it as it was
            nxt[name] = torch.where(on.view(-1, *[1] * (nxt[name].dim() - 1)), nxt[name], s[name])
        nxt["face_frames"] = torch.where(on, face_frames + 1, s["face_frames"])
        nxt["face_seen"] = on.float()
        emotion = torch.zeros(1, g.speaker_emotion_in.in_features)
        if self.read_emotion:
            last = torch.where(restart[:, None], normalized, s["reader.face"])
            changes = torch.where(restart[:, None, None], torch.zeros_like(s["reader.changes"]), s["reader.changes"])
            reading, face_next, changes_next = _read(tok.emotion_reader, normalized, last, changes)
            emotion = torch.where(on[:, None], reading, emotion)
            nxt["reader.face"] = torch.where(on[:, None], face_next, s["reader.face"])
            nxt["reader.changes"] = torch.where(on[:, None, None], changes_next, s["reader.changes"])
            emotion_on = on.float()
        else:
            nxt["reader.face"], nxt["reader.changes"] = s["reader.face"], s["reader.changes"]
            emotion_on = torch.zeros(1)

        # the speaker stream, and its keys and values for the listener
        audio = self.audio(pcm)
        x = g.speaker_embedding(audio[:, None], f[:, None], emotion[:, None], token[:, None], on.float(),
                                emotion_on)[:, 0]
        keep = g.config.context + 1
        crossed = []
        for i, (block, lblock) in enumerate(zip(g.speaker_blocks, g.listener_blocks)):
            x = self._block(block, x, f"speaker.{i}", s, nxt, frames, keep)
            k, v = lblock.cross.keys_values(x[:, None])  # (1, H, 1, D)
            for part, new in (("keys", k), ("values", v)):
                nxt[f"cross.{i}.{part}"] = _write(s[f"cross.{i}.{part}"], new)
            crossed.append((nxt[f"cross.{i}.keys"], nxt[f"cross.{i}.values"]))

        # the listener: K rows (and K more not hearing the speaker, for guidance)
        previous = s["previous"].repeat(self.rows // self.samples)
        h = g.listener_in(previous)
        for i, (block, (keys, values)) in enumerate(zip(g.listener_blocks, crossed)):
            h = self._listener_block(block, h, f"listener.{i}", s, nxt, frames, keep, keys, values)
        tokens = self._sample(g.norm(h), uniforms, frames, on)
        nxt["previous"] = tokens
        nxt["frames"] = frames + 1

        # the tokens decoded: the listener's faces and emotions
        vectors = tok.quantizer.codes_to_vectors(tokens)
        decoded = self._stack(tok.face_decoder, vectors, "decoder", s, nxt, frames, None)
        first = (frames == 0)[:, None]
        last = torch.where(first, decoded, s["decoder.face"])
        emotions, nxt["decoder.face"], nxt["decoder.changes"] = _read(tok.emotion_reader, decoded, last,
                                                                      s["decoder.changes"])
        shown_face, shown_emotion = self._take_turns(tok.denormalize(decoded), emotions, speaking > 0.5, first, s,
                                                     nxt)
        return (shown_face, shown_emotion, tokens, *[nxt[t.name] for t in self.state_tensors])

    def _take_turns(self, face: torch.Tensor, emotion: torch.Tensor, speaking: torch.Tensor, first: torch.Tensor,
                    s: dict, nxt: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """generator/turns.turn_step for one conversation, in the same arithmetic order; first
        (1, 1): the conversation's first frame, which starts the low-pass at its face."""
        turns = self.turns
        alpha = 1.0 - math.exp(-1.0 / (turns.hold_seconds * self.generator.config.fps))
        calm_face = torch.where(first, face, s["turn.calm_face"] + alpha * (face - s["turn.calm_face"]))
        calm_emotion = torch.where(first, emotion, s["turn.calm_emotion"] + alpha * (emotion - s["turn.calm_emotion"]))
        onset = (speaking & (s["turn.shown"] == 0))[:, None]
        held_face = torch.where(onset, calm_face, s["turn.held_face"])
        held_emotion = torch.where(onset, calm_emotion, s["turn.held_emotion"])
        shown = torch.where(speaking, s["turn.shown"] + 1.0 / turns.fade_in,
                            s["turn.shown"] - 1.0 / turns.fade_out).clamp(0.0, 1.0)
        weight = (shown * shown * (3.0 - 2.0 * shown))[:, None]
        nxt.update({"turn.shown": shown, "turn.calm_face": calm_face, "turn.calm_emotion": calm_emotion, "turn.held_face": held_face,
                    "turn.held_emotion": held_emotion})
        return face + weight * (held_face - face), emotion + weight * (held_emotion - emotion)

    def _stack(self, stack: Stack, x: torch.Tensor, prefix: str, s: dict, nxt: dict, frames: torch.Tensor,
               restart: torch.Tensor | None) -> torch.Tensor:
        h = stack.inp(x)
        for i, block in enumerate(stack.blocks):
            conv = s[f"{prefix}.{i}.conv"]
            if restart is not None:  # a new stream's convolution past is zeros; its band is masked by the count
                conv = torch.where(restart[:, None, None], torch.zeros_like(conv), conv)
            h = self._block(block, h, f"{prefix}.{i}", {**s, f"{prefix}.{i}.conv": conv}, nxt, frames,
                            stack.context + 1)
        return stack.outp(stack.norm(h))

    def _block(self, block: Block, x: torch.Tensor, name: str, s: dict, nxt: dict, frames: torch.Tensor,
               keep: int) -> torch.Tensor:
        """Block.step on x (rows, C): frames (1,) counted before this one."""
        window = torch.cat([s[f"{name}.conv"], block.conv_norm(x)[:, None]], 1)  # (rows, kernel, C)
        nxt[f"{name}.conv"] = window[:, 1:]
        x = x + ((window * block.conv.conv.weight[:, 0].t()).sum(1) + block.conv.conv.bias)
        attn = block.attn
        rows, c = x.shape
        q, k, v = attn.qkv(block.attn_norm(x)).view(rows, 3, attn.heads, 1, c // attn.heads).unbind(1)
        keys = nxt[f"{name}.keys"] = _write(s[f"{name}.keys"], k)
        values = nxt[f"{name}.values"] = _write(s[f"{name}.values"], v)
        y = _attend(q, keys, values, _band_bias(frames, keep, attn.position, attn.heads))
        x = x + attn.out(y.reshape(rows, c))
        up, act, down, _ = block.mlp
        return x + down(act(up(block.mlp_norm(x))))

    def _listener_block(self, block: ListenerBlock, h: torch.Tensor, name: str, s: dict, nxt: dict,
                        frames: torch.Tensor, keep: int, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        h = self._block(block.own, h, name, s, nxt, frames, keep)
        cross = block.cross
        rows, c = h.shape
        q = cross.q(block.cross_norm(h)).view(rows, cross.heads, 1, c // cross.heads)
        y = _attend(q, keys, values, _band_bias(frames, keep, cross.position, cross.heads))
        return h + torch.tanh(block.gate) * cross.out(y.reshape(rows, c)) * self.speaker_on

    def _sample(self, h: torch.Tensor, u: torch.Tensor, frames: torch.Tensor, face_on: torch.Tensor) -> torch.Tensor:
        """DigitHead.sample on the rows' states (conditional rows first, then the listener-only ones)."""
        head, k, how = self.generator.head, self.samples, self.sampling
        guidance = self._guidance(frames, face_on)
        if len(head.levels) == 1:
            logits = head.outputs[0](h)
            if self.guided:
                logits = torch.lerp(logits[k:], logits[:k], guidance)
            return _draw(logits, u[:, 0], how.temperature)
        width = h.shape[-1]
        pre = torch.addmm(self.head_bias, h, self.head_weight.t())  # every digit's first layer at once
        token = torch.zeros(k, dtype=torch.long)
        for i, output in enumerate(head.outputs):
            hidden = output[1](pre[:, :width])
            if self.guided:
                hidden = torch.lerp(hidden[k:], hidden[:k], guidance)
            digit = _draw(output[2](hidden), u[:, i], how.temperature)
            token = token + digit * self.basis[i]
            if i < len(self.images):  # the chosen digit's image under the later digits' first layers
                pre = pre[:, width:] + self.images[i][digit].repeat(self.rows // k, 1)
        return token

    def _guidance(self, frames: torch.Tensor, face_on: torch.Tensor) -> torch.Tensor:
        """(1, 1) this frame's guidance: Sampling.guidance_at the conversation's age, whether the
        speaker's face is seen (face_on, (1,) bool) or not."""
        how = self.sampling
        full = torch.full((1, 1), how.guidance)
        if how.guidance_no_face is not None:
            full = torch.where(face_on[:, None], full, torch.full((1, 1), how.guidance_for(False)))
        if how.guidance_ramp == 0:
            return full
        share = (frames.float() / how.guidance_ramp).clamp(max=1.0)[:, None]
        return torch.where((frames >= how.guidance_ramp)[:, None], full, 1.0 + (full - 1.0) * share)


def _block_tensors(name: str, block: Block, rows: int, keep: int, whose: str) -> list[Tensor]:
    width, heads = block.attn.qkv.in_features, block.attn.heads
    return [Tensor(f"{name}.conv", (rows, block.conv.kernel - 1, width), "float32",
                   f"{whose} convolution's last inputs"),
            Tensor(f"{name}.keys", (rows, heads, keep, width // heads), "float32",
                   f"{whose} attention keys of the last {keep} frames, oldest first"),
            Tensor(f"{name}.values", (rows, heads, keep, width // heads), "float32", f"{whose} attention values")]


def _write(band: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """The band (rows, H, keep, D) of the last keep frames, oldest first, moved on by this frame's
    keys or values (rows, H, 1, D): two block copies. (A ring written in place is what the session
    keeps; in a graph every next state is a new tensor anyway, and a ring's one-slot write cost
    selects or transposes of the whole band: a third of the step.)"""
    return torch.cat([band[:, :, 1:], new], 2)


def _band_bias(frames: torch.Tensor, keep: int, position: RelativeBias | None, heads: int) -> torch.Tensor:
    """(H, 1, keep) the attention bias of this frame's query over the band after its write: the
    offset bias by each slot's age, -inf at the slots no frame has reached yet."""
    ages = torch.arange(keep - 1, -1, -1)
    bias = torch.zeros(heads, keep) if position is None else position.table[:, ages + position.future]
    return bias.masked_fill(ages > frames, float("-inf"))[:, None]


def _attend(q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """nn/blocks.attend: q (rows, H, 1, D) against keys and values (rows or 1, H, keep, D)."""
    scores = (q * q.shape[-1] ** -0.5) @ keys.transpose(-1, -2) + bias
    return scores.softmax(-1) @ values


def _read(reader: FaceEmotionReader, face: torch.Tensor, last: torch.Tensor, changes: torch.Tensor
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """FaceEmotionReader.step: (emotion, the face to keep, the changes to keep)."""
    changes = torch.cat([changes[:, 1:], (face - last).abs()[:, None]], 1)
    energy = [changes[:, -w:].sum(1) / w for w in reader.windows]
    return reader.net(torch.cat([face, *energy], -1)), face, changes


def _draw(logits: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
    """generator/sampling.sample without top-k and top-p: the first level whose cumulative
    probability exceeds u x total (searchsorted's count of those at or below it)."""
    if temperature == 0:
        return logits.argmax(-1)
    cdf = (logits / temperature).softmax(-1).cumsum(-1)
    index = (cdf <= (u * cdf[:, -1])[:, None]).sum(-1)
    return index.clamp(max=logits.shape[-1] - 1)
