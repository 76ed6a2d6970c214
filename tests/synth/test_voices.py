"""Corpora in other voices and rooms: espeak-ng speech fitted to the schedule, held-out voices and
words apart from the training ones, the room's effects at their sizes, and nothing but the audio
changed by either."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from facereact.cli import main
from facereact.data.mars import WAV2VEC
from facereact.data.rooms import through_room
from facereact.errors import UsageError
from facereact.metrics.events import frame_energy_db, speaker_events
from facereact.synth import espeak
from facereact.synth.conversation import schedule_clip
from facereact.synth.persona import sample_persona
from facereact.synth.world import DEMO

RATE = 16000
needs_espeak = pytest.mark.skipif(not espeak.available(), reason="espeak-ng is not installed (make setup installs it)")


def _track(seconds: float = 20.0, seed: int = 3):
    rng = np.random.default_rng(seed)
    return schedule_clip((sample_persona(rng), sample_persona(rng)), seconds, rng)[0]


@needs_espeak
@pytest.mark.parametrize("pool", list(espeak.POOLS))
def test_espeak_speech_keeps_the_schedules_phrases_and_stress(pool: str) -> None:
    track = _track()
    audio = espeak.render_espeak(track, 20 * RATE, RATE, np.random.default_rng(1), pool)
    found = speaker_events(audio, RATE, np.zeros((500, 58)), 25).phrase_end / 25
    scheduled = np.array([b for _, b in track.phrases if b < 19.5])
    # every scheduled phrase end is heard where it was scheduled (the metric finds its pause)
    assert all(np.abs(found - end).min() < 0.2 for end in scheduled), (found, scheduled)
    energy = frame_energy_db(audio, RATE, 500, 25)
    inside = np.zeros(500, bool)
    for a, b in track.phrases:
        inside[int(a * 25):int(b * 25)] = True
    assert energy[inside].mean() > energy[~inside].mean() + 20  # speech, then the room's quiet
    stressed = [s for s in track.syllables if s.stressed]
    plain = [s for s in track.syllables if not s.stressed]
    level = lambda ss: np.mean([energy[int((s.start + s.duration / 2) * 25)] for s in ss])  # noqa: E731
    assert level(stressed) > level(plain) + 1.5  # the schedule's emphasis is audible
    again = espeak.render_espeak(track, 20 * RATE, RATE, np.random.default_rng(1), pool)
    np.testing.assert_array_equal(audio, again)  # seeded: the same speech


def test_the_held_out_pool_shares_no_accent_voice_or_word_with_the_training_pool() -> None:
    train, held = espeak.POOLS["espeak"], espeak.POOLS["espeak-heldout"]
    assert not set(train.accents) & set(held.accents)
    assert not set(train.variants) & set(held.variants)
    assert not set(train.words) & set(held.words)
    assert [espeak.syllables(w) for w in ("the", "coffee", "interesting", "people")] == [1, 2, 4, 2]


def test_a_missing_espeak_is_named_before_anything_is_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                               capsys) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["synth", str(tmp_path / "corpus"), "--voice", "espeak"]) == 2
    assert "needs the espeak-ng program" in capsys.readouterr().err
    assert not (tmp_path / "corpus").exists() or not any((tmp_path / "corpus").iterdir())
    with pytest.raises(UsageError, match="espeak-ng"):
        espeak.render_espeak(_track(), RATE, RATE, np.random.default_rng(0))


def test_the_room_does_what_it_says() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(4 * RATE) / RATE
    burst = ((t % 1.0) < 0.3) * (np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 40 * t))
    assert through_room(burst, RATE, 0.0, rng) is burst  # no room: untouched, nothing drawn
    out = through_room(burst, RATE, 1.0, np.random.default_rng(7))
    spectrum = lambda x, f: np.abs(np.fft.rfft(x))[int(f * len(x) / RATE)]  # noqa: E731
    # the band limits take more of the 40 Hz hum than of the 1 kHz tone
    assert spectrum(out, 40) / spectrum(burst, 40) < 0.5 * spectrum(out, 1000) / spectrum(burst, 1000)
    # a reverberant tail after each burst, and the noise floor in the silences
    gaps = [(t % 1.0 > 0.32) & (t % 1.0 < 0.4), (t % 1.0 > 0.9)]
    assert np.sqrt((out[gaps[0]] ** 2).mean()) > 3 * np.sqrt((out[gaps[1]] ** 2).mean()) > 0
    assert not np.array_equal(out, through_room(burst, RATE, 1.0, np.random.default_rng(8)))


@needs_espeak
def test_a_corpus_voice_and_room_change_its_audio_and_nothing_else(tmp_path: Path) -> None:
    roots = {}
    for name, flags in (("formant", []), ("espeak", ["--voice", "espeak", "--room", "0.8"])):
        roots[name] = tmp_path / name
        assert main(["synth", str(roots[name]), "--sessions", "3", "--clips", "1", "--frames", "100",
                     "--seed", "4", *flags]) == 0
    config = json.loads((roots["espeak"] / "synth_config.json").read_text())
    assert config["voice"] == "espeak" and config["world"]["room"] == 0.8
    files = sorted(p.relative_to(roots["formant"]) for p in roots["formant"].rglob("*") if p.is_file())
    assert any(f.suffix == ".wav" for f in files)
    for f in files:
        if f.name == "synth_config.json":
            continue
        a, b = roots["formant"] / f, roots["espeak"] / f
        if f.suffix == ".wav":
            assert not np.array_equal(sf.read(a)[0], sf.read(b)[0])
        else:
            assert a.read_bytes() == b.read_bytes(), f"{f} changed with the voice"
    assert DEMO.room == 0.0


@needs_espeak
def test_a_mars_corpus_takes_voices_too(tmp_path: Path) -> None:
    roots = {}
    for name in ("formant", "espeak"):
        roots[name] = tmp_path / name
        assert main(["synth", str(roots[name]), "--layout", "mars", "--sessions", "1", "--clips", "1",
                     "--min-frames", "60", "--frames", "90", "--voice", name]) == 0
    wavs = sorted(p.relative_to(roots["formant"]) for p in roots["formant"].rglob("*.wav"))
    assert wavs and all(not np.array_equal(sf.read(roots["formant"] / w)[0], sf.read(roots["espeak"] / w)[0])
                        for w in wavs)
    faces = [f for f in sorted(p.relative_to(roots["formant"]) for p in roots["formant"].rglob("*.npy"))
             if f.parts[1] != WAV2VEC]  # the coefficients and attributes, not the audio's features
    assert faces and all((roots["formant"] / f).read_bytes() == (roots["espeak"] / f).read_bytes() for f in faces)
