import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from facereact.data.audio import wav_features
from facereact.errors import DataError
from facereact.generator.data import TokenizedPair
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.generator.sampling import Sampling, guide, sample, uniforms
from facereact.generator.session import StreamingSession, generate_clip
from facereact.layout import AUDIO_DIM, EMOTION_DIM, FACE_DIM
from facereact.nn.position import RelativeBias
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig


FLAT, DIGITS = (1000,), (8, 5, 5, 5)  # one softmax over the 1000 tokens; the FSQ levels digit by digit


def models(offline: bool = False, levels: tuple[int, ...] = DIGITS,
           personality: int = 0) -> tuple[ReactionGenerator, FaceTokenizer]:
    torch.manual_seed(0)
    tokenizer = FaceTokenizer(TokenizerConfig(levels=(8, 5, 5, 5), width=16, layers=1, heads=2, emotion_layers=1,
                                              context=6)).eval()
    generator = ReactionGenerator(GeneratorConfig(levels=levels, width=32, heads=4,
                                                  layers=2, context=12, future=5, offline=offline,
                                                  dropout=0.0, personality=personality)).eval()
    with torch.no_grad():  # an untrained head is almost uniform over 5 levels: sharpen it so that
        for p in generator.head.parameters():  # a change of speaker shows in the sampled tokens
            p.mul_(4.0)
        for m in generator.modules():  # position tables start at zero: make every offset differ
            if isinstance(m, RelativeBias):
                m.table.normal_()
    return generator, tokenizer


def speaker(t: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(t, AUDIO_DIM)).astype(np.float32), rng.normal(0, 0.3, (t, FACE_DIM)).astype(np.float32),
            rng.random((t, EMOTION_DIM)).astype(np.float32))


def token_pair(t: int = 64, seed: int = 0) -> TokenizedPair:
    """A training pair of `t` frames: a random speaker, random tokens of both persons, still listener."""
    rng = np.random.default_rng(seed)
    return TokenizedPair(*speaker(t, seed), rng.integers(0, 1000, t), rng.integers(0, 1000, t),
                         np.zeros((t, FACE_DIM), np.float32), np.zeros((t, EMOTION_DIM), np.float32))


@pytest.mark.parametrize("offline", [False, True])
@pytest.mark.parametrize("levels", [FLAT, DIGITS])
def test_steps_equal_teacher_forcing(offline: bool, levels: tuple[int, ...]) -> None:
    generator, _ = models(offline, levels)
    t = 30
    audio, face, emotion = (torch.from_numpy(x)[None] for x in speaker(t))
    tokens = torch.randint(0, generator.config.vocab, (1, t))
    listener_in = torch.randint(0, generator.config.vocab, (1, t))
    listener_in[:, 0] = generator.bos
    with torch.no_grad():
        parallel = generator(audio, face, emotion, tokens, listener_in).listener
        steps = run_steps(generator, audio, face, emotion, tokens, listener_in)
    torch.testing.assert_close(steps, parallel, atol=1e-5, rtol=1e-5)


def run_steps(generator: ReactionGenerator, audio: torch.Tensor, face: torch.Tensor, emotion: torch.Tensor,
              tokens: torch.Tensor, listener_in: torch.Tensor, speaker_on: torch.Tensor | None = None) -> torch.Tensor:
    """The generation path frame by frame (one speaker, batch rows of listeners) -> (B, T, width)."""
    state = generator.init_state(1, listener_in.shape[0])
    embedding = generator.speaker_embedding(audio[:1], face[:1], emotion[:1], tokens[:1])
    if generator.config.offline:
        generator.prepare_offline(embedding, state)
    steps = []
    for i in range(listener_in.shape[1]):
        if not generator.config.offline:
            generator.speaker_step(embedding[:, i:i + 1], state)
        steps.append(generator.listener_step(listener_in[:, i], state, i, speaker_on))
    return torch.stack(steps, 1)


@pytest.mark.parametrize("guidance", [1.0, 2.5])
@pytest.mark.parametrize("levels", [FLAT, DIGITS])
def test_online_generation_is_causal(guidance: float, levels: tuple[int, ...]) -> None:
    """Same seed, speaker changed after frame t: listener frames 0..t bit-for-bit identical."""
    generator, tokenizer = models(levels=levels)
    audio, face, emotion = speaker()
    how = Sampling(guidance=guidance)
    base = generate_clip(generator, tokenizer, audio, face, emotion, samples=4, sampling=how, seed=5)
    t = 20
    audio2, face2, emotion2 = audio.copy(), face.copy(), emotion.copy()
    audio2[t + 1:] += 5.0
    face2[t + 1:] += 1.0
    emotion2[t + 1:] = 1.0 - emotion2[t + 1:]
    changed = generate_clip(generator, tokenizer, audio2, face2, emotion2, samples=4, sampling=how, seed=5)
    for a, b in zip(base, changed):
        assert np.array_equal(a[:, :t + 1], b[:, :t + 1])
    assert not np.array_equal(base[2][:, t + 1:], changed[2][:, t + 1:])  # later frames do react


@pytest.mark.parametrize("offline", [False, True])
def test_only_offline_looks_ahead(offline: bool) -> None:
    """Changing the speaker from frame 25 on moves earlier listener states only in offline mode."""
    generator, _ = models(offline)
    audio, face, emotion = (torch.from_numpy(x)[None] for x in speaker())
    tokens = torch.zeros(1, 40, dtype=torch.long)
    listener_in = torch.full((1, 40), generator.bos)
    later = audio.clone()
    later[:, 25:] += 5.0
    with torch.no_grad():
        before = generator(audio, face, emotion, tokens, listener_in).listener[:, :25]
        after = generator(later, face, emotion, tokens, listener_in).listener[:, :25]
    assert torch.equal(before, after) != offline


@pytest.mark.parametrize("offline", [False, True])
def test_listener_only_rows_ignore_the_speaker_and_steps_match(offline: bool) -> None:
    """speaker_on = 0 is the listener-only model guidance needs: the speaker cannot reach it, in
    training's parallel forward and in the generation steps, which still equal each other."""
    generator, _ = models(offline)
    t = 20
    audio, face, emotion = (torch.from_numpy(x)[None].repeat(2, 1, 1) for x in speaker(t))
    tokens = torch.randint(0, generator.config.vocab, (1, t)).repeat(2, 1)
    listener_in = torch.randint(0, generator.config.vocab, (1, t)).repeat(2, 1)
    on = torch.tensor([1.0, 0.0])
    with torch.no_grad():
        parallel = generator(audio, face, emotion, tokens, listener_in, speaker_on=on).listener
        moved = generator(audio + 3.0, face, emotion, tokens, listener_in, speaker_on=on).listener
        assert not torch.equal(parallel[0], moved[0]) and torch.equal(parallel[1], moved[1])
        steps = run_steps(generator, audio, face, emotion, tokens, listener_in, on)
    torch.testing.assert_close(steps, parallel, atol=1e-5, rtol=1e-5)


def test_guidance_interpolates_and_extrapolates_log_probabilities() -> None:
    c, u = torch.tensor([[2.0, 1.0, 0.0]]), torch.tensor([[0.0, 1.0, 2.0]])
    one = lambda g: torch.tensor([g])  # noqa: E731  (the row's guidance)
    torch.testing.assert_close(guide(c, u, one(1.0)).log_softmax(-1), c.log_softmax(-1))
    torch.testing.assert_close(guide(c, u, one(0.0)).log_softmax(-1), u.log_softmax(-1))
    # the guided distribution is log p(x | speaker) + (g - 1) (log p(x | speaker) - log p(x | alone))
    g = 2.5
    expected = c.log_softmax(-1) + (g - 1) * (c.log_softmax(-1) - u.log_softmax(-1))
    torch.testing.assert_close(guide(c, u, one(g)).log_softmax(-1), expected.log_softmax(-1))
    # above 1, what the speaker makes likelier (token 0) gains beyond the conditional model
    assert guide(c, u, one(3.0)).softmax(-1)[0, 0] > c.softmax(-1)[0, 0]
    with pytest.raises(ValueError, match="guidance"):
        Sampling(guidance=-1.0)


def test_stream_equals_online_generation(tmp_path: Path) -> None:
    """Streaming raw audio frame by frame gives the frames of generating the clip."""
    generator, tokenizer = models()
    rate, t = 16000, 30
    samples = np.random.default_rng(1).normal(0, 0.1, t * rate // 25)
    sf.write(tmp_path / "s.wav", samples, rate, subtype="FLOAT")
    _, face, emotion = speaker(t)
    audio = wav_features(tmp_path / "s.wav", t, cache_dir=tmp_path)
    offline_run = generate_clip(generator, tokenizer, audio, face, emotion, samples=3, seed=9)
    session = StreamingSession(generator, tokenizer, samples=3, seed=9)
    wav, _ = sf.read(tmp_path / "s.wav", dtype="float64")
    per = rate // 25
    frames = [session.step(wav[i * per:(i + 1) * per], rate, face[i], emotion[i]) for i in range(t)]
    np.testing.assert_array_equal(np.stack([f.tokens for f in frames], 1), offline_run[2])
    np.testing.assert_allclose(np.stack([f.face for f in frames], 1), offline_run[0], atol=1e-6)
    with pytest.raises(ValueError, match="one frame at 16000 Hz is 640 mono samples"):
        session.step(wav[:500], rate, face[0], emotion[0])


def test_context_slides_for_long_conversations() -> None:
    generator, tokenizer = models()
    session = StreamingSession(generator, tokenizer, samples=2)
    audio, face, emotion = speaker(60)
    for i in range(60):
        session.step_features(audio[i], face[i], emotion[i])
    band = generator.config.context + 1  # bounded caches, whatever the conversation's length
    state = session.state["generator"]
    for part in state["listener"][0], state["speaker"][0], state["cross"][0]:
        assert part["keys"].shape[2] == part["values"].shape[2] == band
    assert state["speaker"][0]["frames"].tolist() == [60]


def test_a_reset_session_repeats_itself_and_a_closed_one_holds_nothing() -> None:
    generator, tokenizer = models()
    audio, face, emotion = speaker(20)
    session = StreamingSession(generator, tokenizer, samples=3, seed=4)
    first = [session.step_features(audio[i], face[i], emotion[i]).tokens for i in range(20)]
    session.reset()
    again = [session.step_features(audio[i], face[i], emotion[i]).tokens for i in range(20)]
    np.testing.assert_array_equal(np.stack(first), np.stack(again))
    session.close()
    assert session.state is None


def test_an_offline_generator_refuses_to_stream() -> None:
    generator, tokenizer = models(offline=True)
    with pytest.raises(ValueError, match="offline generator.*cannot stream"):
        StreamingSession(generator, tokenizer)


def test_sampling_rules() -> None:
    logits = torch.tensor([[0.0, 1.0, 2.0, 3.0]]).repeat(2000, 1)
    u = torch.rand(2000, generator=torch.Generator().manual_seed(0))
    assert set(sample(logits, Sampling(top_k=2), u).tolist()) == {2, 3}
    assert sample(logits, Sampling(temperature=0), u).unique().tolist() == [3]
    probs = logits[0].softmax(-1)  # 0.03, 0.09, 0.24, 0.64: top-p 0.7 keeps {3, 2}
    assert set(sample(logits, Sampling(top_p=0.7), u).tolist()) == {2, 3}
    assert set(sample(logits, Sampling(top_p=0.5), u).tolist()) == {3} and probs[3] > 0.5
    with pytest.raises(ValueError):
        Sampling(top_p=1.5)


def test_inverse_cdf_draws_follow_the_distribution_and_never_pick_impossible_tokens() -> None:
    logits = torch.tensor([[float("-inf"), 0.0, float("-inf"), 1.0, 2.0, float("-inf")]]).repeat(20000, 1)
    u = torch.rand(20000, generator=torch.Generator().manual_seed(4))
    u[:3] = torch.tensor([0.0, 1.0 - 2 ** -24, 0.5])  # the edges of [0, 1)
    drawn = sample(logits, Sampling(), u)
    freq = torch.bincount(drawn, minlength=6).float() / len(drawn)
    torch.testing.assert_close(freq, logits[0].softmax(-1), atol=0.01, rtol=0)
    assert drawn[0] == 1 and drawn[1] == 4 and freq[[0, 2, 5]].sum() == 0


def test_each_clip_draws_from_its_own_generator() -> None:
    """Clip-major rows: a clip's draws are the same alone or beside other clips."""
    alone = uniforms(3, 4, [torch.Generator().manual_seed(7)])
    together = uniforms(9, 4, [torch.Generator().manual_seed(s) for s in (5, 7, 9)])
    assert torch.equal(together[3:6], alone)
    assert not torch.equal(together[:3], alone)


def test_a_checkpoint_of_another_head_is_a_clear_error(tmp_path: Path) -> None:
    """A folder saved with a flat softmax (as before the digit head) loaded as a digit model:
    an error naming the file and the mismatch, not torch's traceback."""
    generator, _ = models(levels=FLAT)
    generator.save(tmp_path / "g")
    assert ReactionGenerator.load(tmp_path / "g").config.levels == FLAT
    config_file = tmp_path / "g" / "config.json"
    config = json.loads(config_file.read_text())
    config["generator"]["levels"] = list(DIGITS)
    config_file.write_text(json.dumps(config))
    with pytest.raises(DataError, match=r"model.safetensors.*do not fit.*retrain"):
        ReactionGenerator.load(tmp_path / "g")
