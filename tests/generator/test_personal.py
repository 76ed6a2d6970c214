"""A personal generator: who the listener is changes its reactions, an unknown listener is the
generic one, and every conversation of a batch keeps its own listener, as a solo run would; it
trains and is scored on both corpus layouts."""
import json
import shutil

import numpy as np
import pytest
import torch

from facereact.cli import main
from facereact.errors import UsageError
from facereact.generator.cohort import restart
from facereact.generator.personality import listener_rows, personality_values
from facereact.generator.session import StreamingSession, generate_clips
from facereact.layout import PERSONALITY_NAMES
from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars
from facereact.synth.writer import SynthConfig, synthesize_corpus

from tests.generator.test_cohort import GUIDED
from tests.generator.test_generator import models, speaker
from tests.generator.test_rates import SMALL

RESERVED = np.array([0.1, 0.2, 0.9, 0.8, 0.1], np.float32)
EXPRESSIVE = np.array([0.9, 0.9, 0.1, 0.2, 0.9], np.float32)


def personal_models(offline: bool = False):
    generator, tokenizer = models(offline=offline, personality=len(PERSONALITY_NAMES))
    with torch.no_grad():  # an untrained projection: make who listens show in the tokens
        generator.personality_in.weight.mul_(8.0)
        generator.unknown_personality.normal_()
    return generator, tokenizer


def _tokens(generator, tokenizer, personality, seed: int = 3, frames: int = 30) -> np.ndarray:
    audio, face, emotion = speaker(frames, seed=1)
    return generate_clips(generator, tokenizer, audio[None], face[None], emotion[None], samples=4, sampling=GUIDED,
                          seeds=[seed], personality=personality)[2][0]


def test_who_listens_changes_the_reactions_and_the_same_listener_repeats_them() -> None:
    generator, tokenizer = personal_models()
    reserved, expressive = (_tokens(generator, tokenizer, p) for p in (RESERVED, EXPRESSIVE))
    assert (reserved != expressive).mean() > 0.2
    np.testing.assert_array_equal(reserved, _tokens(generator, tokenizer, RESERVED.copy()))
    # the names in any case are the same listener as the values in order
    named = {name.upper(): float(v) for name, v in zip(PERSONALITY_NAMES, RESERVED)}
    np.testing.assert_array_equal(reserved, _tokens(generator, tokenizer, named))
    # an unknown listener: None, or a row of NaN, is the learned unknown vector
    unknown = _tokens(generator, tokenizer, None)
    np.testing.assert_array_equal(unknown, _tokens(generator, tokenizer, [np.full(5, np.nan)]))
    assert (unknown != reserved).mean() > 0.2


def test_an_offline_generator_is_personal_too() -> None:
    generator, tokenizer = personal_models(offline=True)
    reserved, expressive = (_tokens(generator, tokenizer, p) for p in (RESERVED, EXPRESSIVE))
    assert (reserved != expressive).mean() > 0.2
    np.testing.assert_array_equal(reserved, _tokens(generator, tokenizer, RESERVED))


def test_a_batch_of_listeners_equals_their_solo_runs() -> None:
    generator, tokenizer = personal_models()
    audio, face, emotion = speaker(30, seed=1)
    both = generate_clips(generator, tokenizer, np.stack([audio, audio, audio]), np.stack([face] * 3),
                          np.stack([emotion] * 3), samples=4, sampling=GUIDED, seeds=[3, 3, 3],
                          personality=[RESERVED, None, EXPRESSIVE])[2]
    for row, who in zip(both, (RESERVED, None, EXPRESSIVE)):
        np.testing.assert_array_equal(row, _tokens(generator, tokenizer, who))


def test_a_listener_restarted_in_a_slot_is_its_solo_listener() -> None:
    generator, tokenizer = personal_models()
    audio, face, _ = speaker(40, seed=1)
    batch = StreamingSession(generator, tokenizer, samples=4, sampling=GUIDED, seeds=[5, 6], personality=[None, RESERVED])
    for t in range(10):
        batch.step_clips(audio[t:t + 1].repeat(2, 0), face[t:t + 1].repeat(2, 0))
    restart(batch, [0], [3], [EXPRESSIVE])  # a new conversation, another listener
    solo = StreamingSession(generator, tokenizer, samples=4, sampling=GUIDED, seed=3, personality=EXPRESSIVE)
    for t in range(12):
        got = batch.step_clips(audio[t:t + 1], face[t:t + 1], active=np.array([0]))
        np.testing.assert_array_equal(got.tokens, solo.step_features(audio[t], face[t]).tokens)


def test_bad_personalities_are_refused_by_name() -> None:
    generator, tokenizer = personal_models()
    with pytest.raises(UsageError, match=r"lie in \[0, 1\]"):
        personality_values([1, 2, 3, 4, 5])
    with pytest.raises(UsageError, match="5 values"):
        personality_values([0.5, 0.5])
    for bad in ("calm", ["a", "b", "c", "d", "e"], True):  # what a client may send in a hello
        with pytest.raises(UsageError, match="a personality is 5"):
            personality_values(bad)
    with pytest.raises(UsageError, match=r"missing \['Openness'\]"):
        personality_values(dict(zip(PERSONALITY_NAMES[:4], [0.5] * 4)))
    with pytest.raises(UsageError, match=r"unknown \['humour'\]"):
        personality_values({**dict(zip(PERSONALITY_NAMES, [0.5] * 5)), "humour": 1.0})
    with pytest.raises(UsageError, match="2 conversations need 2 personalities"):
        listener_rows(generator, [RESERVED] * 3, 2)
    generic, _ = models()
    assert listener_rows(generic, None, 2) is None and listener_rows(generic, [None, np.full(5, np.nan)], 2) is None
    with pytest.raises(UsageError, match="generic"):
        StreamingSession(generic, tokenizer, samples=2, personality=RESERVED)


def test_a_personal_generator_trains_on_mars_and_scores_both_tracks(tmp_path, capsys) -> None:
    """--personal reads the listeners' personality files; the benchmark scores the model told no
    listener (the generic track) and told each one (", personal"), and the persona table beside."""
    mars = synthesize_mars(tmp_path / "mars", MarsSynthConfig(sessions=2, clips_per_session=2, min_frames=60,
                                                             max_frames=90), progress=False)
    tok, gen = tmp_path / "tok", tmp_path / "gen"
    assert main(["train", "tokenizer", "--data", str(mars), "--out", str(tok), *SMALL, "--window", "16",
                 "--batch-size", "4"]) == 0
    assert main(["train", "generator", "--data", str(mars), "--tokenizer", str(tok), "--out", str(gen), *SMALL,
                 "--window", "32", "--batch-size", "4", "--personal"]) == 0
    assert json.loads((gen / "config.json").read_text())["generator"]["personality"] == len(PERSONALITY_NAMES)
    bench = tmp_path / "bench"
    assert main(["benchmark", "--protocol", "react2025", "--data", str(mars), "--models", str(gen), "--samples", "2",
                 "--out", str(bench)]) == 0
    results = json.loads((bench / "results.json").read_text())
    assert {"Ours (FSQ, online, gen)", "Ours (FSQ, online, gen), personal"} <= set(results)
    assert results["Ours (FSQ, online, gen)"] != results["Ours (FSQ, online, gen), personal"]
    persona = json.loads((bench / "persona.json").read_text())
    assert set(persona) == {"Ours (FSQ, online, gen)", "Ours (FSQ, online, gen), personal"}
    assert all(-1 <= row["fidelity"] <= 1 for row in persona.values())
    assert "Persona fidelity" in (bench / "results.md").read_text()
    assert main(["generate", "--model", str(gen), "--data", str(mars), "--personal", "--samples", "2",
                 "--out", str(tmp_path / "p.npz")]) == 0
    capsys.readouterr()
    shutil.rmtree(mars / "train" / "personality")  # a MARS 2025 release: no personality files
    assert main(["train", "generator", "--data", str(mars), "--tokenizer", str(tok), "--out",
                 str(tmp_path / "g2"), *SMALL, "--personal"]) == 2
    assert "no listener personality in the train split" in capsys.readouterr().err


def test_a_personal_generator_trains_on_a_react2024_corpus_and_is_scored_twice(tmp_path, capsys) -> None:
    """A synthetic REACT 2024-layout corpus says who each person is (personality.csv): a personal
    generator of 25 fps MFCC audio (the live server's) trains on it, and the benchmark's tables
    have its generic and personal rows. On a split that says nothing of who listens there is no
    personal row, and generating "personal" is refused by name (it would be the generic row)."""
    root = synthesize_corpus(tmp_path / "c", SynthConfig(sessions=5, clips_per_session=2, frames=60), progress=False)
    tok, gen, bench = tmp_path / "tok", tmp_path / "gen", tmp_path / "bench"
    assert main(["train", "tokenizer", "--data", str(root), "--out", str(tok), *SMALL, "--window", "16",
                 "--batch-size", "4"]) == 0
    assert main(["train", "generator", "--data", str(root), "--tokenizer", str(tok), "--out", str(gen), *SMALL,
                 "--window", "32", "--batch-size", "4", "--personal", "--no-choose-sampling"]) == 0
    assert main(["benchmark", "--data", str(root), "--split", "train", "--models", str(gen), "--samples", "2",
                 "--out", str(bench)]) == 0
    names = {"Ours (FSQ, online, gen)", "Ours (FSQ, online, gen), personal"}
    assert names <= set(json.loads((bench / "results.json").read_text()))
    assert names <= set(json.loads((bench / "behaviour.json").read_text()))
    assert set(json.loads((bench / "persona.json").read_text())) == names
    (root / "val" / "personality.csv").unlink()
    capsys.readouterr()
    assert main(["generate", "--model", str(gen), "--data", str(root), "--personal", "--samples", "2",
                 "--out", str(tmp_path / "p.npz")]) == 2
    assert "val: no listener here has a personality" in capsys.readouterr().err
    assert main(["benchmark", "--data", str(root), "--models", str(gen), "--samples", "2", "--no-behaviour",
                 "--out", str(tmp_path / "bench_val")]) == 0
    assert "gives no listener a personality: no personal row" in capsys.readouterr().out
    rows = set(json.loads((tmp_path / "bench_val" / "results.json").read_text()))
    assert "Ours (FSQ, online, gen)" in rows and not any(name.endswith(", personal") for name in rows)
