"""The method's claim, end to end: a model trained where listeners nod after the speaker's phrases
puts its nods there, hearing the speaker's audio alone; one that never heard the speaker in
training nods anywhere. The corpus is written here in the REACT 2024 layout: one person of each
session speaks in tone bursts, the other nods half a second after each phrase ends and is
otherwise still."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facereact.generator.generate import generate_split
from facereact.generator.model import GeneratorConfig
from facereact.generator.sampling import Sampling
from facereact.generator.training import GeneratorTraining, train_generator
from facereact.layout import FACE_DIM, FPS, face_index
from facereact.metrics.behaviour import REACTIONS, reaction_response
from facereact.metrics.behaviour_inputs import load_behaviour_truth
from facereact.train.schedules import TrainConfig

from tests.toy import toy_tokenizer, write_person, write_split

FRAMES, RATE = 400, 16000
NOD_DELAY_S = 0.5


def _clip(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Speaker audio and face, listener audio and face of one clip."""
    seconds = FRAMES / FPS
    t_audio = np.arange(int(seconds * RATE)) / RATE
    speaker_audio = rng.normal(0, 0.002, len(t_audio))
    t = np.arange(FRAMES) / FPS
    listener = np.zeros((FRAMES, FACE_DIM))
    start = rng.uniform(0.3, 1.0)
    while start < seconds - 2.0:
        end = start + rng.uniform(0.6, 2.5)
        speaker_audio += np.where((t_audio >= start) & (t_audio < end), 0.2 * np.sin(2 * np.pi * 160 * t_audio), 0)
        dt = t - end - NOD_DELAY_S
        listener[:, face_index("pitch")] += np.where((dt >= 0) & (dt < 0.75), 0.15 * np.sin(2 * np.pi * 2 * dt), 0)
        start = end + rng.uniform(1.3, 4.0)  # irregular: another clip's pauses fall anywhere in this one
    noise = lambda: rng.normal(0, 0.01, (FRAMES, FACE_DIM)).clip(0, None)  # noqa: E731  a tracker's jitter
    return speaker_audio, noise(), rng.normal(0, 0.002, len(t_audio)), listener + noise()


def _corpus(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for split, sessions in (("train", range(10)), ("val", range(10, 12)), ("test", range(12, 13))):
        rows = []
        for s in sessions:
            for clip in (1, 2, 3):
                speaker, listener = f"NoXI/{s:03d}_toy/Expert_video/{clip}", f"NoXI/{s:03d}_toy/Novice_video/{clip}"
                speaker_audio, speaker_face, listener_audio, listener_face = _clip(rng)
                write_person(root, split, speaker, speaker_face, speaker_audio, RATE)
                write_person(root, split, listener, listener_face, listener_audio, RATE)
                rows.append((speaker, listener))
        write_split(root, split, rows)
    return root


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path]:
    root = _corpus(tmp_path_factory.mktemp("nods"))
    tokenizer = toy_tokenizer(root, tmp_path_factory.mktemp("tok"), epochs=30)
    return root, tokenizer


def test_a_model_nods_after_its_own_speakers_phrases_and_not_anywhere(toy, tmp_path: Path) -> None:
    from facereact.generator.model import load_generator

    root, tokenizer = toy
    config = GeneratorConfig(width=48, heads=4, layers=2, context=50, dropout=0.0)
    train_generator(root, tokenizer, tmp_path / "gen", config, TrainConfig(epochs=25, batch_size=16, lr=2e-3,
                                                                           warmup_steps=20),
                    GeneratorTraining(window=64), progress=False)
    generator, tok = load_generator(tmp_path / "gen")
    faces = generate_split(generator, tok, root, "val", samples=4, sampling=Sampling(temperature=0.9, guidance=2.0),
                           progress=False, inputs="audio")["pred_face"]
    truth = load_behaviour_truth(root, "val", faces.shape[2])
    real, heard = truth.figures["reactions"]["nod"], truth.score(faces)[0]["reactions"]["nod"]
    assert real["lift"] > 1.8 and abs(real["peak_s"] - NOD_DELAY_S - 0.3) < 0.3  # the corpus's own timing
    assert heard["lift"] > max(1.5, 2 / 3 * real["lift"]), (heard, real["lift"])
    assert abs(heard["peak_s"] - real["peak_s"]) <= 0.3, (heard["peak_s"], real["peak_s"])
    # The same reactions timed against another clip's speaker: a model that nodded anywhere (or
    # on a rhythm of its own) would score alike against both; these answer their own speaker only.
    speakers = [row for row, events in enumerate(truth.events) if len(events.phrase_end)]
    others = [truth.events[speakers[(speakers.index(r) + 1) % len(speakers)]] if r in speakers else truth.events[r]
              for r in range(len(truth.events))]
    wrong = reaction_response(others, list(faces), REACTIONS["nod"], FPS)
    chance = reaction_response(others, truth.listener_face, REACTIONS["nod"], FPS)  # the real listeners', alike
    assert wrong["lift"] < chance["lift"] + 0.25 and heard["lift"] > wrong["lift"] + 0.5, (wrong, chance, heard)
