"""`facereact synth --layout mars`: a synthetic corpus in the MARS layout of REACT 2025/2026.

Sessions are prompts: every conversation of session k is played by personas drawn close to that
session's pair of base personas, so the listeners of one session react alike (the 2025 notion of
"appropriate": any listener of the same session). Clips have varied lengths at 30 fps. Per clip it
writes facial attributes (T, 25), coefficients (T, 1, 58) (the release's singleton axis), a 16 kHz
wav and `audio-features` (T, 768): a deterministic stand-in for wav2vec2, tanh of a fixed seeded
random projection of the log energies of 24 frequency bands of each 1/30 s of audio. Personality
files map persona traits onto the Big Five's 1..5 scale (below). No videos and no EEG are written.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from facereact.data.mars import ATTRIBUTES, AUDIO, COEFFICIENTS, PERSONALITY_DIR, ROLES, SPLITS, WAV2VEC, MarsClip
from facereact.data.personality import write_personality
from facereact.errors import UsageError
from facereact.io import save_npy_atomic, write_text_atomic
from facereact.layout import MARS_FPS, WAV2VEC_DIM
from facereact.synth.conversation import schedule_clip
from facereact.synth.emotion_rules import emotion_from_face
from facereact.synth.face import render_face
from facereact.synth.persona import Persona, big_five, sample_persona
from facereact.synth.recording import check_voice, recorded, recording_seed
from facereact.synth.tracker import as_tracked, tracker_seed
from facereact.synth.voice import render_voice
from facereact.synth.world import DEMO, World

CONFIG_FILE = "synth_config.json"
BANDS = 24
@dataclass(frozen=True)
class MarsSynthConfig:
    sessions: int = 4  # prompts, each present in every split
    clips_per_session: int = 3  # train conversations per session; val and test get two each
    min_frames: int = 150  # 5 s at 30 fps
    max_frames: int = 600  # 20 s
    sample_rate: int = 16000
    jitter: float = 0.1  # persona spread within a session, as a share of each trait's range
    seed: int = 0
    world: World = DEMO  # how people react and speak, and the tracker's faults (synth/world.py)
    voice: str = "formant"  # whose voice speaks: formant, espeak, espeak-heldout (synth/recording.py)

    def __post_init__(self) -> None:
        check_voice(self.voice)
        if self.sessions < 1 or self.clips_per_session < 1:
            raise UsageError("--sessions and --clips must be at least 1")
        if not 2 * MARS_FPS <= self.min_frames <= self.max_frames:
            raise UsageError(f"clip lengths {self.min_frames}..{self.max_frames}: need {2 * MARS_FPS} <= min <= max")
        if not 0.0 <= self.jitter < 1.0:
            raise UsageError(f"--persona-jitter {self.jitter}: a share of each trait in [0, 1)")
        if self.sample_rate < 8000:
            raise UsageError(f"--sample-rate {self.sample_rate}: at least 8000 Hz")


def clips_in(split: str, config: MarsSynthConfig) -> int:
    return config.clips_per_session if split == "train" else 2


def _near(base: Persona, rng: np.random.Generator, jitter: float) -> Persona:
    """A persona close to the session's: every trait moved by up to `jitter` of its spread."""
    moved = {f.name: getattr(base, f.name) * float(1 + rng.uniform(-jitter, jitter)) for f in fields(Persona)}
    return replace(base, **moved)


def wav2vec_standin(voice: np.ndarray, rate: int, frames: int) -> np.ndarray:
    """(frames, 768): tanh of a fixed random projection of 24 log band energies per video frame."""
    hop = rate / MARS_FPS
    width = int(hop)
    energies = np.zeros((frames, BANDS))
    edges = np.linspace(0, width // 2 + 1, BANDS + 1).astype(int)
    for i in range(frames):
        chunk = voice[int(i * hop):int(i * hop) + width]
        spectrum = np.abs(np.fft.rfft(chunk, n=width)) ** 2
        energies[i] = [np.log(spectrum[a:b].sum() + 1e-8) for a, b in zip(edges[:-1], edges[1:])]
    projection = np.random.default_rng(768).normal(0, 1 / np.sqrt(BANDS), (BANDS, WAV2VEC_DIM))
    return np.tanh((energies - energies.mean(0)) @ projection).astype(np.float32)


def _stem(split: str, session: int, clip: int) -> str:
    day = 1 + SPLITS.index(split) * 10 + clip % 10
    return f"Camera-2024-06-{day:02d}-{10 + session:02d}{clip:02d}21-{10 + session:02d}{clip:02d}02"


def _write_clip(root: Path, split: str, session: int, clip: int, personas: tuple[Persona, Persona],
                config: MarsSynthConfig, rng: np.random.Generator, tracker_rng: np.random.Generator,
                recording_rng: np.random.Generator) -> dict[str, np.ndarray]:
    frames = int(rng.integers(config.min_frames, config.max_frames + 1))
    duration = frames / MARS_FPS
    tracks = schedule_clip(personas, duration, rng, config.world)
    stem = _stem(split, session, clip)
    traits = {}
    for role, track in zip(ROLES, tracks):
        ref = MarsClip(split, role, session, stem)
        face = render_face(track, frames, rng, fps=MARS_FPS)
        voice = recorded(track, render_voice(track, int(round(duration * config.sample_rate)), config.sample_rate, rng),
                         config.sample_rate, config.voice, config.world.room, recording_rng)
        tracked, emotion = as_tracked(face, emotion_from_face(face, fps=MARS_FPS), config.world, tracker_rng)
        save_npy_atomic(ref.file(root, COEFFICIENTS), tracked[:, None, :])
        save_npy_atomic(ref.file(root, ATTRIBUTES), emotion)
        save_npy_atomic(ref.file(root, WAV2VEC), wav2vec_standin(voice, config.sample_rate, frames))
        ref.file(root, AUDIO).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(ref.file(root, AUDIO)), voice, config.sample_rate, subtype="PCM_16")
        traits[role] = big_five(track.persona)
    return {f"{stem}.mp4": traits}


def synthesize_mars(root: str | Path, config: MarsSynthConfig = MarsSynthConfig(), progress: bool = True) -> Path:
    """Write a MARS-layout corpus under `root`; the same config writes the same files."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    write_text_atomic(root / CONFIG_FILE, json.dumps({"layout": "mars", **asdict(config)}, indent=2) + "\n")
    seeds = np.random.SeedSequence(config.seed).spawn(config.sessions)
    personality: dict[str, dict[str, np.ndarray]] = {s: {} for s in SPLITS}
    for session in tqdm(range(config.sessions), desc="synth sessions", disable=not progress):
        rng, tracker_rng = np.random.default_rng(seeds[session]), np.random.default_rng(tracker_seed(seeds[session]))
        recording_rng = np.random.default_rng(recording_seed(seeds[session]))
        base = (sample_persona(rng), sample_persona(rng))  # the prompt: who talks how, who listens how
        for split in SPLITS:
            for clip in range(clips_in(split, config)):
                personas = (_near(base[0], rng, config.jitter), _near(base[1], rng, config.jitter))
                personality[split].update(_write_clip(root, split, session, clip, personas, config, rng,
                                                      tracker_rng, recording_rng))
    for split, table in personality.items():
        for role in ROLES:
            write_personality(root / split / PERSONALITY_DIR / f"{role}.csv", "video_name",
                              {name: traits[role] for name, traits in table.items()})
    return root
