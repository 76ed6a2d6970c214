"""`facereact synth`: write a synthetic dyadic corpus in the REACT 2024 layout."""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from facereact.data.audio import check_rate
from facereact.data.clip_io import save_emotion
from facereact.data.paths import AUDIO_DIR, EMOTION_DIR, FACE_DIR, SPLITS, neighbour_file
from facereact.data.personality import PERSON_COLUMN, PERSONALITY_FILE, write_personality
from facereact.errors import DataError, UsageError
from facereact.io import save_npy_atomic, write_text_atomic
from facereact.layout import EMOTION_NAMES, FPS
from facereact.synth.conversation import PersonTrack, schedule_clip
from facereact.synth.emotion_rules import emotion_from_face
from facereact.synth.face import render_face
from facereact.synth.persona import big_five, sample_persona
from facereact.synth.recording import check_voice, recorded, recording_seed
from facereact.synth.tracker import as_tracked, tracker_seed
from facereact.synth.voice import render_voice
from facereact.synth.world import DEMO, World


MIN_FRAMES = 2 * FPS


@dataclass(frozen=True)
class SynthConfig:
    sessions: int = 12
    clips_per_session: int = 4
    frames: int = 751  # the release's clip length (30 s at 25 fps, plus one)
    sample_rate: int = 16000  # the release has 44100 Hz stereo: --sample-rate 44100 --channels 2
    channels: int = 1
    split_shares: tuple[float, float, float] = (0.6, 0.2, 0.2)
    neighbour_share: float = 0.12  # share of the closest speakers marked appropriate
    seed: int = 0
    persona_shift: float = 0.0  # every persona trait's range moved by this share of its width
    world: World = DEMO  # how people react and speak, and the tracker's faults (synth/world.py)
    voice: str = "formant"  # whose voice speaks: formant, espeak, espeak-heldout (synth/recording.py)

    def __post_init__(self) -> None:
        # Checked here, not after minutes of writing: a corpus every later command accepts.
        if self.sessions < 3:
            raise UsageError(f"--sessions {self.sessions}: at least 3, one each for train, val and test")
        if self.clips_per_session < 1:
            raise UsageError(f"--clips {self.clips_per_session}: at least 1 clip per session")
        if self.frames < MIN_FRAMES:
            raise UsageError(f"--frames {self.frames}: at least {MIN_FRAMES} ({MIN_FRAMES // FPS} s), room for a "
                             "phrase and its reaction")
        if self.channels not in (1, 2):
            raise UsageError(f"--channels {self.channels}: 1 or 2")
        try:
            check_rate(self.sample_rate)
        except DataError as exc:
            raise UsageError(f"--sample-rate: {exc.problem}") from None
        if not -1.0 <= self.persona_shift <= 1.0:
            raise UsageError(f"--persona-shift {self.persona_shift}: within [-1, 1] (a share of each trait's range)")
        if not 0.0 < self.neighbour_share <= 1.0:
            raise UsageError(f"neighbour_share must be in (0, 1], got {self.neighbour_share}")
        check_voice(self.voice)


def _session_names(index: int) -> tuple[str, str, tuple[str, str], tuple[str, str]]:
    """(site, session, persons, emotion person folders) in the release's naming."""
    if index % 2 == 0:
        return "NoXI", f"{index + 1:03d}_2016-03-{index % 28 + 1:02d}_Paris", ("Expert_video", "Novice_video"), ("P1", "P2")
    person = 25 + 2 * (index // 2)
    return "RECOLA", f"group-{index // 2 + 1}", (f"P{person}", f"P{person + 1}"), ("P1", "P2")


def _assign_splits(n: int, shares: tuple[float, float, float]) -> list[str]:
    n_val = max(1, round(n * shares[1])) if n >= 3 else 0
    n_test = max(1, round(n * shares[2])) if n >= 3 else 0
    return ["train"] * (n - n_val - n_test) + ["val"] * n_val + ["test"] * n_test


def _behaviour(track: PersonTrack, duration: float) -> np.ndarray:
    """What a listener reacts to, per minute: phrase ends, smiles, emphasis, frowns; speaking share."""
    per_min = 60.0 / duration
    kinds = [g.kind for g in track.gestures]
    spoken = sum(b - a for a, b in track.phrases) / duration
    return np.array([len(track.phrases) * per_min, kinds.count("smile") * per_min,
                     kinds.count("brow") * per_min, kinds.count("frown") * per_min, 10 * spoken])


def neighbour_matrix(behaviour: np.ndarray, share: float) -> np.ndarray:
    """1 where two speakers' behaviour is among the closest `share` of pairs; diagonal 1."""
    z = (behaviour - behaviour.mean(0)) / (behaviour.std(0) + 1e-9)
    dist = np.sqrt(((z[:, None] - z[None]) ** 2).sum(-1))
    off = dist[~np.eye(len(z), dtype=bool)]
    threshold = np.quantile(off, share) if off.size else 0.0
    m = (dist <= threshold).astype(np.float64)
    np.fill_diagonal(m, 1.0)
    return m


def simulate_session(index: int, config: SynthConfig,
                     seed: np.random.SeedSequence) -> Iterator[tuple[int, tuple[PersonTrack, PersonTrack], list, list]]:
    """Per clip: its number, the two event tracks, the two faces and the two voices. The random
    stream is consumed in one fixed order (voices included), so a session replays exactly."""
    rng, recording_rng = np.random.default_rng(seed), np.random.default_rng(recording_seed(seed))
    personas = (sample_persona(rng, config.persona_shift), sample_persona(rng, config.persona_shift))
    duration = config.frames / FPS
    n_samples = int(round(duration * config.sample_rate))
    for clip in range(1, config.clips_per_session + 1):
        tracks = schedule_clip(personas, duration, rng, config.world)
        faces, voices = [], []
        for track in tracks:
            faces.append(render_face(track, config.frames, rng))
            voice = recorded(track, render_voice(track, n_samples, config.sample_rate, rng), config.sample_rate,
                             config.voice, config.world.room, recording_rng)
            if config.channels == 2:  # two slightly different microphones
                voice = np.stack([voice, 0.9 * voice + rng.normal(0, 0.001, voice.shape)], axis=1)
            voices.append(voice)
        yield clip, tracks, faces, voices


def _write_session(root: Path, split: str, index: int, config: SynthConfig, seed: np.random.SeedSequence,
                   personality: dict[str, np.ndarray]) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """The session's clips written; its two people's Big Five (1..5) added to `personality`."""
    site, session, persons, emotion_persons = _session_names(index)
    duration = config.frames / FPS
    base = root / split
    rows = []
    tracker_rng = np.random.default_rng(tracker_seed(seed))
    for clip, tracks, faces, voices in simulate_session(index, config, seed):
        for who in range(2):
            rel = f"{site}/{session}/{persons[who]}/{clip}"
            face, emotion = as_tracked(faces[who], emotion_from_face(faces[who]), config.world, tracker_rng)
            (base / FACE_DIR / rel).parent.mkdir(parents=True, exist_ok=True)
            np.save(base / FACE_DIR / f"{rel}.npy", face)
            save_emotion(base / EMOTION_DIR / site / session / emotion_persons[who] / f"{clip}.csv",
                         emotion, EMOTION_NAMES)
            (base / AUDIO_DIR / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(base / AUDIO_DIR / f"{rel}.wav"), voices[who], config.sample_rate, subtype="PCM_16")
        for who in range(2):
            personality[f"{site}/{session}/{persons[who]}"] = big_five(tracks[who].persona)
        rows.append((f"{site}/{session}/{persons[0]}/{clip}", f"{site}/{session}/{persons[1]}/{clip}",
                     _behaviour(tracks[0], duration), _behaviour(tracks[1], duration)))
    return rows


CONFIG_FILE = "synth_config.json"


def session_plan(config: SynthConfig) -> tuple[list[str], list[np.random.SeedSequence]]:
    """Each session's split and random seed."""
    return _assign_splits(config.sessions, config.split_shares), np.random.SeedSequence(config.seed).spawn(config.sessions)


def read_config(root: str | Path) -> SynthConfig:
    """The config a synthetic corpus was written with (to replay its sessions)."""
    data = json.loads((Path(root) / CONFIG_FILE).read_text())
    return SynthConfig(**{**data, "split_shares": tuple(data["split_shares"]),
                          "world": World(**data.get("world", {}))})  # older corpora: the formant voice


def synthesize_corpus(root: str | Path, config: SynthConfig = SynthConfig(), progress: bool = True) -> Path:
    """Write a corpus under `root`; the same config and seed write the same files."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(root / CONFIG_FILE, json.dumps(asdict(config), indent=2) + "\n")
    splits, seeds = session_plan(config)
    by_split: dict[str, list] = {s: [] for s in SPLITS}
    personality: dict[str, dict[str, np.ndarray]] = {s: {} for s in SPLITS}
    for index in tqdm(range(config.sessions), desc="synth sessions", disable=not progress):
        by_split[splits[index]] += _write_session(root, splits[index], index, config, seeds[index],
                                                  personality[splits[index]])
    for split, rows in by_split.items():
        if not rows:
            continue
        with open(root / f"{split}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["", "speaker_path", "listener_path"])
            w.writerows([i, s, l] for i, (s, l, _, _) in enumerate(rows))
        # Mirrored order: the listed speakers first, then the listed listeners as speakers.
        behaviour = np.array([r[2] for r in rows] + [r[3] for r in rows])
        save_npy_atomic(neighbour_file(root, split), neighbour_matrix(behaviour, config.neighbour_share))
        # ours, not the REACT 2024 release's: who each person is, for personal generators
        write_personality(root / split / PERSONALITY_FILE, PERSON_COLUMN, personality[split])
    return root
