from pathlib import Path

import pytest

from facereact.synth.writer import SynthConfig, synthesize_corpus

TINY = ["--width", "16", "--layers", "1", "--heads", "2", "--context", "8", "--window", "16",
        "--batch-size", "8", "--warmup", "5", "--lr", "3e-3"]


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    return synthesize_corpus(tmp_path_factory.mktemp("corpus"),
                             SynthConfig(sessions=4, clips_per_session=1, frames=120, seed=3), progress=False)
