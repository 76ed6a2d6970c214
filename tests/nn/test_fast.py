"""The compiled streaming steps (nn/fast.py) against the torch steps they replace."""
import math
from contextlib import contextmanager, nullcontext

import numpy as np
import pytest
import torch

from facereact.generator.cohort import merge
from facereact.generator.sampling import Sampling
from facereact.generator.session import StreamingSession, generate_clip
from facereact.nn import fast
from facereact.nn.blocks import Block
from tests.generator.test_generator import models, speaker


@contextmanager
def compiled(on: bool):
    previous = fast.set_enabled(on)
    try:
        yield
    finally:
        fast.set_enabled(previous)


def test_erf_is_within_half_a_micro_of_the_exact_one() -> None:
    x = np.linspace(-6, 6, 120001).astype(np.float32)
    ours = np.empty_like(x)
    fast._gelu(x[None], ours[None])
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    # GELU(x) = x (1 + erf(x / sqrt 2)) / 2: an erf error e moves it by |x| e / 2
    assert np.max(np.abs(ours - exact) / np.maximum(np.abs(x), 1.0)) < 5e-7


def test_a_block_step_equals_the_torch_step_through_a_wrapping_ring() -> None:
    torch.manual_seed(0)
    block = Block(32, 4, 0.0, (4, 0)).eval()
    with torch.no_grad():
        for p in block.parameters():  # biases and norms start at 0 and 1: make every term count
            p.add_(torch.randn_like(p) * 0.3)
    frames = torch.randn(12, 3, 1, 32)
    states = {True: block.init_state(3, 4), False: block.init_state(3, 4)}
    with torch.inference_mode():
        for t in range(12):  # context 4 keeps 5 slots: the ring wraps twice
            out = {}
            for on, state in states.items():
                with compiled(on):
                    out[on] = block.step(frames[t], state)
            torch.testing.assert_close(out[True], out[False], atol=1e-5, rtol=1e-5)
    fast_state, torch_state = states[True], states[False]
    torch.testing.assert_close(fast_state["keys"], torch_state["keys"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast_state["values"], torch_state["values"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast_state["conv"], torch_state["conv"], atol=1e-5, rtol=1e-5)
    assert fast_state["frames"].tolist() == torch_state["frames"].tolist() == [12, 12, 12]


def _clip(on: bool, offline: bool, sampling: Sampling) -> tuple[np.ndarray, ...]:
    generator, tokenizer = models(offline)
    audio, face, emotion = speaker(30)
    with compiled(on):
        return generate_clip(generator, tokenizer, audio, face, emotion, samples=3, sampling=sampling, seed=4)


@pytest.mark.parametrize("offline", [False, True])
@pytest.mark.parametrize("sampling", [Sampling(temperature=0.9, guidance=2.5), Sampling(temperature=0.0),
                                      Sampling(guidance=0.3), Sampling(temperature=0.9, guidance=3.0, guidance_ramp=5)])
def test_generation_draws_the_same_reactions_compiled_or_not(offline: bool, sampling: Sampling) -> None:
    """Speaker layers, listener layers with their gated cross-attention, the digit head with and
    without guidance (both of torch.lerp's formulas), the tokenizer's encoder and decoder."""
    faces, emotions, tokens = _clip(True, offline, sampling)
    ref_faces, ref_emotions, ref_tokens = _clip(False, offline, sampling)
    assert np.array_equal(tokens, ref_tokens)
    np.testing.assert_allclose(faces, ref_faces, atol=1e-4)
    np.testing.assert_allclose(emotions, ref_emotions, atol=1e-4)


def test_conversations_of_different_ages_in_one_batch_match_the_torch_steps() -> None:
    """A merged batch masks the slots a younger conversation has not filled (ring.unfilled), and
    steps some of its conversations only (each ring row at its own position)."""
    generator, tokenizer = models()
    audio, face, emotion = speaker(20)
    out = {}
    for on in (True, False):
        with compiled(on), torch.inference_mode():
            old = StreamingSession(generator, tokenizer, samples=2, seed=1)
            for t in range(8):
                old.step_features(audio[t], face[t], emotion[t])
            young = StreamingSession(generator, tokenizer, samples=2, seed=2)
            young.step_features(audio[0], face[0], emotion[0])
            both = merge([old, young])
            frames = [both.step_clips(np.stack([audio[t + 8], audio[t + 1]]), np.stack([face[t + 8], face[t + 1]]),
                                      np.stack([emotion[t + 8], emotion[t + 1]])) for t in range(6)]
            # the younger one alone for six frames, then both, the rows in the other order
            frames += [both.step_clips(audio[t:t + 1], face[t:t + 1], emotion[t:t + 1], active=np.array([1]))
                       for t in range(7, 13)]
            frames.append(both.step_clips(np.stack([audio[13], audio[14]]), np.stack([face[13], face[14]]),
                                          np.stack([emotion[13], emotion[14]]), active=np.array([1, 0])))
            out[on] = (np.concatenate([f.tokens for f in frames]), np.concatenate([f.face for f in frames]))
    assert np.array_equal(out[True][0], out[False][0])
    np.testing.assert_allclose(out[True][1], out[False][1], atol=1e-4)


def test_training_and_gradients_keep_the_torch_step() -> None:
    torch.manual_seed(0)
    block = Block(16, 2, 0.0, (3, 0))
    x = torch.randn(2, 1, 16, requires_grad=True)
    with compiled(True):
        block.step(x, block.init_state(2, 3)).sum().backward()  # the compiled step has no gradient: not used
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_softmax_exponentials_are_within_two_millionths_of_exp() -> None:
    x = np.linspace(-87, 0, 200001).astype(np.float32)
    ours = x.copy()
    total = fast._exp_shifted(ours, np.empty(len(x), np.int32), len(x), np.float32(0.0))
    exact = np.exp(x.astype(np.float64))
    assert np.max(np.abs(ours - exact) / exact) < 4e-6  # near -87: float32's own rounding of x log2 e
    assert np.max(np.abs(ours - exact)[x > -20] / exact[x > -20]) < 2e-6
    assert abs(total - exact.sum()) / exact.sum() < 1e-5


def test_without_a_compiler_sessions_fall_back_to_the_torch_steps(monkeypatch) -> None:
    from facereact.generator import session as session_module

    def broken(*args):
        raise RuntimeError("no LLVM here")

    monkeypatch.setattr(session_module, "_COMPILED", False)
    monkeypatch.setattr(fast, "_ENABLED", True)
    monkeypatch.setattr(fast, "_block_step", broken)
    with pytest.warns(UserWarning, match="no LLVM here"):
        session_module.compile_steps()
    assert not fast._ENABLED
    generator, tokenizer = models()
    audio, face, emotion = speaker(10)
    # the broken kernel is still in place: generating works only if sessions now take the torch steps
    faces, _, _ = generate_clip(generator, tokenizer, audio, face, emotion, samples=2, seed=1)
    assert faces.shape[:2] == (2, 10) and np.isfinite(faces).all()


def test_a_step_of_many_rows_on_threads_is_the_one_call_bit_for_bit() -> None:
    """Inside kernel_threads a block step and a cross-attention of 202 rows (not a multiple of 4)
    run as row ranges on threads: the same numbers as one call, and torch's threads come back."""
    from facereact.nn.cross import ListenerBlock, _compiled_weights

    torch.manual_seed(0)
    block, listener = Block(32, 4, 0.0, (4, 0)).eval(), ListenerBlock(32, 4, 0.0, 4).eval()
    with torch.no_grad():
        for p in [*block.parameters(), *listener.parameters()]:
            p.add_(torch.randn_like(p) * 0.3)
    rows, frames = 202, torch.randn(6, 202, 1, 32)
    speakers = np.arange(rows) % 50  # row r reads ring row r % 50 in the cross-attention
    assert rows >= fast.SPLIT_ROWS
    threads = torch.get_num_threads()
    out, states = {}, {}
    for split in (False, True):
        states[split] = state = block.init_state(rows, 4)
        results = []
        with torch.inference_mode(), (fast.kernel_threads() if split else nullcontext()):
            assert torch.get_num_threads() == (1 if split else threads)
            for t in range(6):
                x = block.step(frames[t], state)
                results.append(fast.cross_step(fast.arrays(listener, _compiled_weights), x, state["keys"][:50],
                                               state["values"][:50], 5, state["frames"][:50].numpy(), 5,
                                               speakers, None))
        out[split] = torch.stack(results)
    assert torch.get_num_threads() == threads
    assert torch.equal(out[True], out[False])
    for name in ("keys", "values", "conv", "frames"):
        assert torch.equal(states[True][name], states[False][name]), name
