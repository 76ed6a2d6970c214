"""Worlds: each knob changes what it says, seeded; the demo world is the corpus it always was."""
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from facereact.cli import main
from facereact.errors import UsageError
from facereact.layout import N_BLENDSHAPES, face_index
from facereact.synth.conversation import schedule_clip
from facereact.synth.persona import sample_persona
from facereact.synth.tracker import as_tracked, hold_lost, lost_frames
from facereact.synth.world import DEMO, KNOBS, WORLDS, World, world_named
from facereact.synth.writer import read_config

DURATION = 30.0


def _schedules(world: World, clips: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    personas = (sample_persona(rng), sample_persona(rng))
    return [schedule_clip(personas, DURATION, rng, world) for _ in range(clips)]


def _schedule_digest(world: World) -> str:
    h = hashlib.sha256()
    for tracks in _schedules(world, clips=4):
        for t in tracks:
            h.update(repr([(round(a, 9), round(b, 9)) for a, b in t.phrases]).encode())
            h.update(repr([(g.kind, round(g.start, 9), round(g.duration, 9), round(g.amplitude, 9))
                           for g in t.gestures]).encode())
    return h.hexdigest()[:16]


def test_the_demo_world_schedules_what_the_corpus_always_had() -> None:
    """Computed before worlds existed: the knobs at 1 draw the same numbers in the same order."""
    assert _schedule_digest(DEMO) == GOLDEN_DEMO_SCHEDULE


GOLDEN_DEMO_SCHEDULE = "0811c68d555d5cf6"


def _delays(world: World, kind: str = "nod") -> np.ndarray:
    """Each listener reaction of `kind` (person 1) after the speaker's (person 0) latest phrase end."""
    out = []
    for speaker, listener in _schedules(world):
        ends = np.array([b for _, b in speaker.phrases])
        for g in listener.gestures:
            if g.kind == kind and g.source == "reaction" and (ends < g.start).any():
                out.append(g.start - ends[ends < g.start].max())
    return np.array(out)


def _count(world: World, kind: str) -> int:
    return sum(g.kind == kind and g.source == "reaction" for tracks in _schedules(world) for g in tracks[1].gestures)


def test_reaction_delay_and_spread() -> None:
    base, slow, wide = _delays(DEMO), _delays(World(reaction_delay=2.0)), _delays(World(delay_spread=3.0))
    assert np.median(slow) == pytest.approx(2 * np.median(base), rel=0.2)
    assert np.std(wide) > 1.8 * np.std(base)
    assert np.median(wide) == pytest.approx(np.median(base), rel=0.25)


@pytest.mark.parametrize("knob,kind", [("nod", "nod"), ("backchannel", "mmhmm"), ("mirror", "smile"),
                                       ("concern", "concern"), ("brow", "brow")])
def test_reaction_chances(knob: str, kind: str) -> None:
    base = _count(DEMO, kind)
    assert _count(World(**{knob: 0.3}), kind) < 0.6 * base
    assert _count(World(**{knob: 1.5}), kind) > 1.15 * base


def _syllable_rate(world: World) -> float:
    tracks = _schedules(world, clips=20)
    return np.mean([len(t.syllables) / sum(b - a for a, b in t.phrases) for t, _ in tracks])


def test_speech_rate() -> None:
    assert _syllable_rate(World(speech_rate=1.5)) == pytest.approx(1.5 * _syllable_rate(DEMO), rel=0.15)


def _turns(world: World) -> float:
    """Person 0's mean turn length: phrases joined across pauses shorter than a turn change's."""
    lengths = []
    for speaker, _ in _schedules(world, clips=30):
        start, end = speaker.phrases[0]
        for a, b in speaker.phrases[1:]:
            if a - end > 0.85:
                lengths.append(end - start)
                start = a
            end = b
        lengths.append(end - start)
    return float(np.mean(lengths))


def test_turn_length() -> None:
    assert _turns(World(turn_length=1.8)) > 1.4 * _turns(DEMO)


def test_tracker_faults() -> None:
    rng = np.random.default_rng(0)
    face = np.zeros((2000, N_BLENDSHAPES + 6), np.float32)
    face[:, :N_BLENDSHAPES] = 0.5
    face[:, face_index("pitch")] = np.sin(np.arange(2000) / 10.0)  # moving, so held frames show
    emotion = np.full((2000, 25), 0.5, np.float32)
    same_face, same_emotion = as_tracked(face, emotion, DEMO, rng)
    assert same_face is face and same_emotion is emotion
    assert rng.random() == np.random.default_rng(0).random()  # no draws without faults
    noisy, noisy_emotion = as_tracked(face, emotion, World(tracker_noise=0.05), np.random.default_rng(1))
    assert np.std(noisy[:, :N_BLENDSHAPES]) == pytest.approx(0.05, rel=0.1)
    assert np.std(noisy_emotion) == pytest.approx(0.05, rel=0.1)
    assert np.array_equal(noisy[:, N_BLENDSHAPES:], face[:, N_BLENDSHAPES:])
    jittery, _ = as_tracked(face, emotion, World(tracker_jitter=0.01), np.random.default_rng(1))
    assert np.std(jittery[:, face_index("yaw")]) == pytest.approx(0.01, rel=0.1)
    assert np.array_equal(jittery[:, :N_BLENDSHAPES], face[:, :N_BLENDSHAPES])
    dropped, dropped_emotion = as_tracked(face, emotion, World(dropped_frames=0.1), np.random.default_rng(1))
    held = (np.diff(dropped[:, face_index("pitch")]) == 0).mean()
    assert held == pytest.approx(0.1, abs=0.04)
    again, _ = as_tracked(face, emotion, World(dropped_frames=0.1), np.random.default_rng(1))
    assert np.array_equal(again, dropped)


def test_lost_frames_repeat_the_last_tracked_one() -> None:
    values = np.arange(8.0)[:, None]
    lost = np.array([False, True, True, False, False, True, False, True])
    assert hold_lost(values, lost)[:, 0].tolist() == [0, 0, 0, 3, 4, 4, 6, 6]
    bursts = lost_frames(20000, 0.1, np.random.default_rng(3))
    assert not bursts[0] and bursts.mean() == pytest.approx(0.1, abs=0.03)
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, bursts.astype(int), 0])))[::2]
    assert runs.mean() > 3  # in bursts, not scattered frames


def test_named_worlds_differ_and_are_valid() -> None:
    assert set(WORLDS) >= {"demo", "reserved", "lively", "tracked"}
    assert WORLDS["demo"] == DEMO and DEMO.changes() == {}
    assert all(len(w.changes()) >= 3 for name, w in WORLDS.items() if name != "demo")
    assert world_named("lively", nod=2.0).nod == 2.0
    with pytest.raises(UsageError, match="--world nowhere"):
        world_named("nowhere")
    with pytest.raises(UsageError, match="--nod 0"):
        World(nod=0.0)
    with pytest.raises(UsageError, match="--dropped-frames"):
        World(dropped_frames=0.9)
    assert set(KNOBS) == set(DEMO.__dataclass_fields__)


def test_cli_world_and_knobs_reach_the_corpus(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert main(["synth", str(out), "--world", "lively", "--nod", "2", "--sessions", "3", "--clips", "1",
                 "--frames", "100"]) == 0
    config = read_config(out)
    assert config.world == replace(WORLDS["lively"], nod=2.0)
    assert json.loads((out / "synth_config.json").read_text())["world"]["nod"] == 2.0
    face = np.load(next((out / "train").rglob("*.npy")))
    assert face.shape == (100, N_BLENDSHAPES + 6)


def test_mars_corpora_have_worlds_too(tmp_path: Path) -> None:
    from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars

    small = dict(sessions=1, clips_per_session=1, min_frames=60, max_frames=60)
    clean = synthesize_mars(tmp_path / "clean", MarsSynthConfig(**small), progress=False)
    tracked = synthesize_mars(tmp_path / "tracked", MarsSynthConfig(**small, world=WORLDS["tracked"]), progress=False)
    files = sorted(p.relative_to(clean) for p in clean.rglob("*.npy"))
    assert files == sorted(p.relative_to(tracked) for p in tracked.rglob("*.npy"))
    faces = [f for f in files if np.load(clean / f).ndim == 3]  # coefficients: (T, 1, FACE_DIM)
    assert faces and all(np.load(clean / f).shape == np.load(tracked / f).shape for f in faces)
    # The same people, seen through a worse tracker: close, not equal.
    a, b = np.load(clean / faces[0]), np.load(tracked / faces[0])
    assert not np.array_equal(a, b) and np.abs(a - b).mean() < 0.1
