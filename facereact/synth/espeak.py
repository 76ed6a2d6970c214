"""Speech from espeak-ng, Debian's speech synthesizer (real phonemes and prosody), fitted to a
clip's event schedule: each phrase is a sentence of about its syllables, spoken by the person's
voice at the speed that makes it last the phrase; stressed syllables are louder (the schedule's
emphasis, which listeners answer with a brow); "mm-hmm" backchannels are hummed by the same voice.

Voices and words come in two disjoint pools: `espeak` (what a corpus is trained on) and
`espeak-heldout` (other accents, other voice variants, other words), to measure a model on speech
training never heard. Rendering draws from its own random stream, so a corpus's schedules, faces
and emotions do not depend on its voice. Needs the `espeak-ng` program (`make setup` installs it
with apt where it can).
"""
from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from facereact.errors import UsageError
from facereact.synth.conversation import PersonTrack

PROGRAM = "espeak-ng"
NOISE = 0.002  # the room's noise floor, as the formant voice's (synth/voice.py)
SPEECH_RMS = 0.05  # a phrase's loudness, about the formant voice's while it speaks
STRESS_GAIN = 1.6  # a stressed syllable's loudness, as the formant voice's


@dataclass(frozen=True)
class VoicePool:
    accents: tuple[str, ...]  # espeak-ng languages
    variants: tuple[str, ...]  # espeak-ng voice variants (+name)
    words: tuple[str, ...]


# Everyday words; the syllables are counted by vowel groups (syllables()), near enough for a timing.
_TRAIN_WORDS = """the a and to it is was that you he she we they this there then so but well yes no not
just really maybe think know mean right good great about after again always because before
better little people something nothing everything morning evening weekend together other
friend family water coffee garden window city country market station question answer
problem reason minute second number paper letter picture music story travel doctor
teacher student office project meeting company money table kitchen holiday summer winter
remember understand interesting important different possible probably actually usually
yesterday tomorrow afternoon already anyway everybody somebody walking talking working""".split()
_HELDOUT_WORDS = """I my me our your his her their what when where which who how why here now still
very quite almost perhaps certainly suddenly quickly slowly quietly finally honestly
mountain river forest island harbour village bridge tower castle library museum theatre
bicycle engine rocket planet ocean desert valley weather thunder lightning rainbow
brother sister uncle cousin neighbour stranger captain driver painter farmer singer
orange lemon butter pepper onion carrot pancake biscuit chocolate sandwich noodle
beautiful terrible wonderful comfortable dangerous delicious ridiculous obvious curious
elephant penguin dolphin tiger rabbit spider monkey camel""".split()

POOLS = {
    "espeak": VoicePool(("en-us", "en-gb"), ("m1", "m2", "m3", "f1", "f2", "f3", "Andy", "Annie"), tuple(_TRAIN_WORDS)),
    "espeak-heldout": VoicePool(("en-gb-x-rp", "en-gb-scotland", "en-029"),
                                ("m4", "m5", "m7", "f4", "f5", "klatt", "robert", "steph"), tuple(_HELDOUT_WORDS)),
}


def available() -> bool:
    return shutil.which(PROGRAM) is not None


def require() -> None:
    if not available():
        raise UsageError(f"--voice espeak needs the {PROGRAM} program: `make setup` installs it where apt can "
                         f"(apt-get install {PROGRAM}), or use the formant voice (--voice formant)")


def syllables(word: str) -> int:
    groups = 0
    previous = False
    for ch in word.lower():
        vowel = ch in "aeiouy"
        groups += vowel and not previous
        previous = vowel
    if word.lower().endswith("e") and groups > 1 and not word.lower().endswith(("le", "ee")):
        groups -= 1
    return max(1, groups)


def sentence(n_syllables: int, words: tuple[str, ...], rng: np.random.Generator) -> str:
    """Random words adding up to about n syllables."""
    out, count = [], 0
    while count < n_syllables:
        word = words[rng.integers(len(words))]
        out.append(word)
        count += syllables(word)
    return " ".join(out)


def speak(text: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    """espeak-ng's rendering of text: mono float samples (silence at both ends cut) and their rate."""
    try:
        run = subprocess.run([PROGRAM, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                             capture_output=True, timeout=30, check=True)
    except FileNotFoundError:
        require()
        raise
    except subprocess.CalledProcessError as exc:
        raise UsageError(f"{PROGRAM} -v {voice} failed: {exc.stderr.decode(errors='replace').strip()}") from None
    audio, rate = sf.read(io.BytesIO(run.stdout), dtype="float64")
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return (audio[loud[0]:loud[-1] + 1] if len(loud) else audio[:0]), rate


def fitted(text: str, voice: str, seconds: float, pitch: int, base_speed: int, rate: int) -> np.ndarray:
    """The text spoken to last `seconds` at `rate`: rendered at the speed that nearly fits (words a
    minute scale inversely with duration), then resampled to the exact length (a few per cent
    of pitch at most)."""
    audio, native = speak(text, voice, base_speed, pitch)
    if len(audio):
        speed = int(np.clip(base_speed * len(audio) / native / seconds, 80, 450))
        if speed != base_speed:
            audio, native = speak(text, voice, speed, pitch)
    n = max(1, int(round(seconds * rate)))
    if len(audio) < 2:
        return np.zeros(n)
    return resample(audio, native, rate, n)


def resample(audio: np.ndarray, rate_in: int, rate_out: int, n: int) -> np.ndarray:
    """`audio` low-passed below the output's Nyquist frequency, then read at n evenly spaced times."""
    spectrum = np.fft.rfft(audio)
    freqs = np.fft.rfftfreq(len(audio), 1.0 / rate_in)
    cut = 0.45 * n * rate_in / len(audio)  # the output's Nyquist frequency, in the input's time
    smooth = np.fft.irfft(spectrum * (freqs < cut), n=len(audio))
    return np.interp(np.linspace(0, len(audio) - 1, n), np.arange(len(audio)), smooth)


def render_espeak(track: PersonTrack, n_samples: int, rate: int, rng: np.random.Generator,
                  pool: str = "espeak") -> np.ndarray:
    """A person's audio for one clip: their phrases and hums in one voice of the pool."""
    require()
    voices = POOLS[pool]
    voice = f"{voices.accents[rng.integers(len(voices.accents))]}+{voices.variants[rng.integers(len(voices.variants))]}"
    # The persona's pitch (about 90-250 Hz) onto espeak's 0-99 scale; its speaking speed in words a minute.
    pitch = int(np.clip((track.persona.pitch_hz - 80.0) / 2.0, 5, 95))
    speed = int(rng.uniform(150, 190))
    audio = rng.normal(0.0, NOISE, n_samples)
    for start, end in track.phrases:
        inside = [s for s in track.syllables if start <= s.start < end]
        phrase = fitted(sentence(max(1, len(inside)), voices.words, rng), voice, end - start, pitch, speed, rate)
        _place(audio, start, rate, _stressed(_at_level(phrase, SPEECH_RMS), inside, start, rate))
    for g in track.gestures:
        if g.kind == "mmhmm":  # a quiet hum, as the formant voice's
            _place(audio, g.start, rate, _at_level(fitted("mm hmm", voice, g.duration, pitch, speed, rate),
                                                   0.5 * SPEECH_RMS))
    return np.clip(audio, -1.0, 1.0)


def _at_level(sound: np.ndarray, rms: float) -> np.ndarray:
    have = np.sqrt(np.mean(sound ** 2)) if len(sound) else 0.0
    return sound * (rms / have) if have > 0 else sound


def _stressed(phrase: np.ndarray, inside: list, start: float, rate: int) -> np.ndarray:
    """The phrase with its stressed syllables louder (a smooth bump each)."""
    gain = np.ones(len(phrase))
    for s in inside:
        if s.stressed:
            a, b = int((s.start - start) * rate), min(len(phrase), int((s.start - start + s.duration) * rate))
            if b > a:
                gain[a:b] *= 1.0 + (STRESS_GAIN - 1.0) * np.sin(np.linspace(0, np.pi, b - a)) ** 2
    return phrase * gain


def _place(audio: np.ndarray, start: float, rate: int, sound: np.ndarray) -> None:
    a = int(start * rate)
    b = min(len(audio), a + len(sound))
    if b > a:
        audio[a:b] += sound[:b - a]
