"""The behaviour figures: events found from observables, event-locked lifts and head motion."""
from __future__ import annotations

import numpy as np
import pytest

from facereact.layout import FACE_DIM, face_index
from facereact.metrics.behaviour import (NOD_BAND_HZ, REACTIONS, band_pass, behaviour, behaviour_row, head_motion,
                                         lift_parts, reaction_response)
from facereact.metrics.events import SpeakerEvents, phrase_ends, speaker_events, voice_activity

FPS = 25


def _events(frames: int, **kinds: list[int]) -> SpeakerEvents:
    found = {k: np.asarray(kinds.get(k, []), np.int64) for k in ("phrase_end", "emphasis", "smile", "frown")}
    return SpeakerEvents(frames, FPS, voice=np.zeros(frames, bool), **found)


def _nodding(frames: int, starts: list[int], amplitude: float = 0.1) -> np.ndarray:
    """A still face that nods (2 Hz, one second) from each start frame."""
    face = np.zeros((frames, FACE_DIM))
    t = np.arange(frames) / FPS
    for s in starts:
        dt = t - s / FPS
        face[:, face_index("pitch")] += np.where((dt >= 0) & (dt < 1.0), amplitude * np.sin(2 * np.pi * 2 * dt), 0)
    return face


def _smiling(frames: int, starts: list[int], height: float = 0.6) -> np.ndarray:
    face = np.zeros((frames, FACE_DIM))
    for s in starts:
        face[s:s + 25, [face_index("mouthSmileLeft"), face_index("mouthSmileRight")]] = height
    return face


EVENTS = [100, 260, 420, 600, 790, 950]


def test_a_listener_that_nods_half_a_second_after_each_phrase_end_is_timed_there():
    frames = 1100
    listener = _nodding(frames, [e + 12 for e in EVENTS])
    r = reaction_response([_events(frames, phrase_end=EVENTS)], [listener], REACTIONS["nod"], FPS)
    assert r["events"] == len(EVENTS)
    assert r["lift"] > 3.0
    # The nod's energy envelope peaks in its first second, after it starts at +0.48 s.
    assert 0.48 <= r["peak_s"] <= 1.2
    # Blind to the events: the same nods, but at moments unrelated to them.
    blind = _nodding(frames, [e + 80 for e in EVENTS])
    assert reaction_response([_events(frames, phrase_end=EVENTS)], [blind], REACTIONS["nod"], FPS)["lift"] < 1.0


def test_lift_parts_are_the_lifts_numerator_and_denominator_in_the_channels_units():
    frames = 1100
    events = [_events(frames, phrase_end=EVENTS)]
    small, big = _nodding(frames, [e + 12 for e in EVENTS], 0.05), _nodding(frames, [e + 12 for e in EVENTS], 0.1)
    level, after = lift_parts(events, [small], REACTIONS["nod"], FPS)
    assert after / level == pytest.approx(reaction_response(events, [small], REACTIONS["nod"], FPS)["lift"], rel=1e-9)
    # twice the nod is four times its band energy, before and after the events alike: the lift cannot tell
    level2, after2 = lift_parts(events, [big], REACTIONS["nod"], FPS)
    assert (level2 / level, after2 / after) == (pytest.approx(4.0), pytest.approx(4.0))


def test_lift_ignores_amplitude_and_averages_k_reactions_before_dividing():
    frames = 1100
    events = [_events(frames, smile=EVENTS)]
    small = _smiling(frames, [e + 25 for e in EVENTS], 0.2)
    big = _smiling(frames, [e + 25 for e in EVENTS], 0.9)
    a = reaction_response(events, [small], REACTIONS["smile"], FPS)
    b = reaction_response(events, [big], REACTIONS["smile"], FPS)
    assert a["lift"] == pytest.approx(b["lift"], rel=1e-6) and a["lift"] > 2.0
    # K = 2: one reaction smiles after every event, the other never smiles: the average still
    # answers every event, and a face that never moves has nothing to time.
    both = np.stack([big, np.zeros_like(big)])
    assert reaction_response(events, [both], REACTIONS["smile"], FPS)["lift"] == pytest.approx(b["lift"], rel=1e-6)
    still = reaction_response(events, [np.zeros_like(big)], REACTIONS["smile"], FPS)
    assert still["events"] == 0 and still["lift"] is None


def test_the_curve_holds_the_hand_computed_response():
    # A smile of height h from +1 s to +2 s after one event, nothing else, in a 20 s clip: the
    # activity above the median (0) averages h * 25 / 500 over the clip; at +1.52 s the smoothed
    # activity is h, so the curve there is 500 / 25 = 20.
    frames = 500
    r = reaction_response([_events(frames, smile=[100])], [_smiling(frames, [125], 0.5)], REACTIONS["smile"], FPS)
    at = r["curve_s"].index(1.52)
    assert r["curve"][at] == pytest.approx(20.0, rel=1e-4)
    assert r["curve"][r["curve_s"].index(-0.52)] == pytest.approx(0.0, abs=1e-9)


def test_band_pass_keeps_a_nod_and_drops_drift():
    t = np.arange(750) / FPS
    nod, drift = np.sin(2 * np.pi * 2.0 * t), np.sin(2 * np.pi * 0.2 * t)
    error = np.abs(band_pass(nod + drift, FPS, NOD_BAND_HZ) - nod)
    assert error[50:-50].max() < 0.01 and error.max() < 0.15  # a clip's edges leak a little


def test_nods_per_minute_counts_each_nod_once():
    frames = 1500  # one minute
    starts = list(range(50, 1450, 140))  # ten nods
    head = head_motion([_nodding(frames, starts)], FPS)
    assert head["nods_per_min"] == pytest.approx(len(starts))
    assert head_motion([np.zeros((frames, FACE_DIM))], FPS)["nods_per_min"] == 0
    pitch = head["pitch_power"]
    assert pitch["1.2-3.5Hz"] > 10 * max(v for band, v in pitch.items() if band != "1.2-3.5Hz")


def test_a_listener_scored_against_itself_has_no_spectrum_distance():
    frames = 1100
    listener = _nodding(frames, [e + 12 for e in EVENTS])
    figures = behaviour([_events(frames, phrase_end=EVENTS)], [listener], FPS)
    row = behaviour_row(figures, figures)
    assert row["head spectrum"] == 0.0 and row["nod lift"] > 3.0
    louder = behaviour([_events(frames, phrase_end=EVENTS)], [10 * listener], FPS)
    # 100x the pitch power in every band (log10 ratio 2), the same (still) yaw: a mean of 1.
    assert behaviour_row(louder, figures)["head spectrum"] == pytest.approx(1.0, rel=1e-6)


def _tone_bursts(spans_s: list[tuple[float, float]], seconds: float, rate: int = 16000) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * rate)) / rate
    audio = rng.normal(0, 0.001, len(t))
    for a, b in spans_s:
        audio += np.where((t >= a) & (t < b), 0.2 * np.sin(2 * np.pi * 180 * t), 0.0)
    return audio


def test_phrase_ends_are_found_in_the_audio_where_speech_gives_way_to_a_pause():
    # Three phrases; the second has a 0.12 s gap inside (one phrase, not two); the last runs to the
    # clip's end (its pause is not seen, so no event); a 0.2 s click is not a phrase.
    spans = [(1.0, 2.4), (3.0, 3.8), (3.92, 5.0), (6.0, 6.2), (8.0, 10.0)]
    audio = _tone_bursts(spans, 10.0)
    ev = speaker_events(audio, 16000, np.zeros((250, FACE_DIM)), FPS)
    assert ev.phrase_end.tolist() == [60, 125]
    assert ev.voice[26:59].all() and not ev.voice[61:74].any()
    # Silence, or a hum with no quiet: nothing found.
    assert speaker_events(np.zeros(16000 * 4), 16000, np.zeros((100, FACE_DIM)), FPS).phrase_end.size == 0
    loud, speech = voice_activity(np.full(100, -20.0), FPS)
    assert not speech.any() and phrase_ends(speech, FPS).size == 0


def test_face_events_are_found_in_the_speakers_channels():
    face = _smiling(500, [100, 300])
    face[200:240, face_index("browDownLeft")] = face[200:240, face_index("browDownRight")] = 0.5
    ev = speaker_events(None, 16000, face, FPS)
    assert ev.smile.tolist() == [100, 300] and ev.frown.tolist() == [200]
    assert ev.phrase_end.size == 0 and ev.emphasis.size == 0


def test_events_found_match_a_synthetic_speakers_schedule():
    """On the synthetic corpus, where the truth is known: phrase ends within 0.16 s of the
    scheduled ones, stressed syllables and smiles found, few false alarms."""
    from facereact.synth.writer import SynthConfig, simulate_session

    found = {"phrase": [0, 0, 0], "emphasis": [0, 0, 0]}

    def tally(key, truth, events, tolerance):
        hits = sum(bool(len(events)) and np.abs(events - t).min() <= tolerance for t in truth)
        false = sum(not len(truth) or np.abs(np.asarray(truth) - e).min() > tolerance for e in events)
        found[key] = [found[key][0] + hits, found[key][1] + len(truth), found[key][2] + false]

    config = SynthConfig(sessions=3, clips_per_session=2)
    for _, tracks, faces, voices in simulate_session(0, config, np.random.SeedSequence(7)):
        for track, face, voice in zip(tracks, faces, voices):
            ev = speaker_events(voice, config.sample_rate, face, FPS)
            end = len(face) / FPS - 0.3
            tally("phrase", [b * FPS for _, b in track.phrases if b < end], ev.phrase_end, 4)
            tally("emphasis", [s.start * FPS for s in track.syllables if s.stressed], ev.emphasis, 5)
    hits, total, false = found["phrase"]
    assert total > 20 and hits >= 0.9 * total and false <= 0.1 * total
    hits, total, false = found["emphasis"]
    assert total > 20 and hits >= 0.6 * total and false <= 0.4 * total


def test_a_mars_split_is_scored_clip_by_clip_at_its_own_lengths(tmp_path):
    """MARS: events from each input clip's wav and face at 30 fps, the real partners of any length;
    the partners scored as a prediction give the real listeners' own figures, a clip's missing wav
    drops only its audio events."""
    from facereact.data.mars import AUDIO, MarsCorpus
    from facereact.metrics.behaviour_inputs import mars_behaviour_truth
    from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars

    root = synthesize_mars(tmp_path / "mars", MarsSynthConfig(sessions=2, clips_per_session=1, min_frames=300,
                                                             max_frames=420), progress=False)
    corpus = MarsCorpus(root, "val")
    inputs = corpus.inputs("both")
    truth = mars_behaviour_truth(corpus, inputs)
    lengths = {e.frames for e in truth.events}
    assert len(truth.events) == len(inputs) and len(lengths) > 1 and truth.fps == 30
    assert sum(len(e.phrase_end) for e in truth.events) > 0
    figures, row = truth.score_clips([corpus.coefficients(c.partner)[None] for c in inputs])
    assert figures["reactions"]["nod"]["lift"] == pytest.approx(truth.figures["reactions"]["nod"]["lift"])
    assert row["head spectrum"] == pytest.approx(0.0)
    inputs[0].file(root, AUDIO).unlink()
    deaf = mars_behaviour_truth(corpus, inputs)
    assert len(deaf.events[0].phrase_end) == 0 and np.array_equal(deaf.events[1].phrase_end, truth.events[1].phrase_end)
    with pytest.raises(ValueError, match="clips of predicted faces"):
        truth.score_clips([])
