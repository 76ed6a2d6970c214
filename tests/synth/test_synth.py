import hashlib
from pathlib import Path

import numpy as np

from facereact.cli import main
from facereact.data.check import check_corpus
from facereact.data.corpus import ReactCorpus
from facereact.layout import emotion_index, face_index
from facereact.synth.emotion_rules import emotion_from_face
from facereact.synth.writer import SynthConfig, synthesize_corpus

SMALL = SynthConfig(sessions=4, clips_per_session=2, frames=300, seed=7)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def test_synth_is_deterministic_and_passes_check(tmp_path: Path) -> None:
    a = synthesize_corpus(tmp_path / "a", SMALL, progress=False)
    b = synthesize_corpus(tmp_path / "b", SMALL, progress=False)
    assert _digest(a) == _digest(b)
    report = check_corpus(a, progress=False)
    assert report.ok, report.text()
    val = ReactCorpus(a, "val")
    m = val.neighbours()
    assert m.shape == (len(val), len(val)) and m.diagonal().all()
    pair = val.load_pair(0)
    assert pair.frames == 300 and np.isfinite(pair.speaker_audio).all()
    # Emotion person folders use the release's P1/P2 names.
    assert any((a / "val" / "Emotion").rglob("P1"))


def test_cli_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert main(["synth", str(out), "--sessions", "3", "--clips", "1", "--frames", "100",
                 "--sample-rate", "44100", "--channels", "2"]) == 0
    assert main(["data", "check", str(out), "--quiet"]) == 0


def test_listener_reacts_to_speaker(tmp_path: Path) -> None:
    """Speaker and listener smiles correlate within a pair far more than across pairs."""
    root = synthesize_corpus(tmp_path / "c", SynthConfig(sessions=6, clips_per_session=2, frames=751, seed=1),
                             progress=False)
    corpus = ReactCorpus(root, "train")
    smile = face_index("mouthSmileLeft")
    pairs = [corpus.load_pair(i, with_audio=False) for i in range(len(corpus))]

    def corr(a, b):
        return np.corrcoef(a[:, smile], b[:, smile])[0, 1]

    same = np.mean([corr(p.speaker_face, p.listener_face) for p in pairs])
    across = np.mean([corr(p.speaker_face, q.listener_face) for p, q in zip(pairs, pairs[1:] + pairs[:1])])
    assert same > across + 0.1


def test_emotion_rules_follow_the_face() -> None:
    face = np.zeros((50, 58), np.float32)
    face[20:30, face_index("mouthSmileLeft")] = 0.8
    face[20:30, face_index("mouthSmileRight")] = 0.8
    emotion = emotion_from_face(face)
    au12 = emotion_index("AU12")
    assert emotion[25, au12] == 1 and emotion[5, au12] == 0
    assert emotion[25, emotion_index("valence")] > 0.5 > emotion[5, emotion_index("valence")]
    assert emotion[25, emotion_index("Happy")] > emotion[5, emotion_index("Happy")]
    np.testing.assert_allclose(emotion[:, emotion_index("Neutral"):].sum(1), 1.0, rtol=1e-5)


def test_resampled_listener_keeps_turns_and_redraws_choices() -> None:
    from facereact.synth.conversation import resample_listener, schedule_clip
    from facereact.synth.persona import sample_persona

    rng = np.random.default_rng(0)
    tracks = schedule_clip((sample_persona(rng), sample_persona(rng)), 30.0, rng)
    fresh = resample_listener(tracks, 1, 30.0, np.random.default_rng(1))
    assert fresh.phrases == tracks[1].phrases  # when they talk follows the other's pauses
    assert fresh.syllables != tracks[1].syllables
    assert [(g.kind, g.start) for g in fresh.gestures] != [(g.kind, g.start) for g in tracks[1].gestures]
    assert {g.source for g in fresh.gestures} <= {"speech", "spontaneous", "reaction"}
    again = resample_listener(tracks, 1, 30.0, np.random.default_rng(1))
    assert [(g.kind, g.start) for g in again.gestures] == [(g.kind, g.start) for g in fresh.gestures]
