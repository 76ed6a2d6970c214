"""Personality tables: MARS 2026's and ours beside a REACT 2024-layout split, read as the release
reads them ((v - 1) / 4), written by the synthetic corpora from each persona, refused by name when bad."""
from pathlib import Path

import numpy as np
import pytest

from facereact.data.check import check_corpus
from facereact.data.corpus import ReactCorpus
from facereact.data.personality import PERSON_COLUMN, PERSONALITY_FILE, load_personality, write_personality
from facereact.errors import DataError, UsageError
from facereact.generator.data import load_tokenized_pairs
from facereact.layout import PERSONALITY_NAMES
from facereact.synth.persona import big_five, sample_persona
from facereact.synth.writer import SynthConfig, synthesize_corpus
from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig


def test_a_synthetic_corpus_says_who_each_listener_is(tmp_path: Path) -> None:
    root = synthesize_corpus(tmp_path / "c", SynthConfig(sessions=3, clips_per_session=1, frames=60), progress=False)
    for split in ("train", "val", "test"):
        if not (root / f"{split}.csv").is_file():
            continue
        corpus = ReactCorpus(root, split)
        table = corpus.personality()
        assert set(table) == {c.person for c in corpus.clips()}
        assert all(v.shape == (len(PERSONALITY_NAMES),) and (0 <= v).all() and (v <= 1).all() for v in table.values())
    tokenizer = FaceTokenizer(TokenizerConfig(levels=(2, 2), width=8, layers=1, heads=2, emotion_layers=1,
                                              reader_width=8, reader_layers=1, context=2))
    pairs = load_tokenized_pairs(root, "train", tokenizer, progress=False)
    train = ReactCorpus(root, "train")
    for pair, ref in zip(pairs, train.pairs):  # mirrored rows too: each row's listener's own
        np.testing.assert_array_equal(pair.listener_personality, train.personality()[ref.listener.person])
    assert "personality: 2 of 2 people" in check_corpus(root, progress=False).text()


def test_big_five_follows_the_persona_and_round_trips_through_the_file(tmp_path: Path) -> None:
    persona = sample_persona(np.random.default_rng(0))
    traits = big_five(persona)
    assert ((traits >= 1) & (traits <= 5)).all()
    path = tmp_path / PERSONALITY_FILE
    write_personality(path, PERSON_COLUMN, {"NoXi/001/Expert_video": traits})
    read = load_personality(path, PERSON_COLUMN)
    np.testing.assert_allclose(read["NoXi/001/Expert_video"], (traits - 1) / 4, atol=1e-3)


@pytest.mark.parametrize("text, problem", [("person,Extraversion\nA/1/p,3\n", "missing columns"),
                                           ("person," + ",".join(PERSONALITY_NAMES) + "\nA/1/p,3,3,3,3,9\n",
                                            "outside 1..5"),
                                           ("person," + ",".join(PERSONALITY_NAMES) + "\nA/1/p,3,x,3,3,3\n",
                                            "non-numeric")])
def test_a_bad_table_is_refused_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / PERSONALITY_FILE
    path.write_text(text)
    with pytest.raises(DataError, match=problem) as error:
        load_personality(path, PERSON_COLUMN)
    assert PERSONALITY_FILE in str(error.value)


def test_persona_jitter_spreads_a_sessions_listeners(tmp_path: Path) -> None:
    from facereact.data.mars import MarsCorpus
    from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars

    def spread(jitter: float) -> float:
        root = synthesize_mars(tmp_path / f"m{jitter}", MarsSynthConfig(sessions=2, clips_per_session=4, min_frames=60,
                                                                       max_frames=60, jitter=jitter), progress=False)
        corpus = MarsCorpus(root, "train")
        table = corpus.personality()
        per_session = [np.std([table[("listener", c.stem)] for c in clips["listener"]], axis=0).mean()
                       for clips in corpus.sessions().values()]
        return float(np.mean(per_session))

    narrow, wide = spread(0.1), spread(0.5)
    assert wide > 2.5 * narrow > 0
    with pytest.raises(UsageError, match="persona-jitter"):
        MarsSynthConfig(jitter=1.5)
