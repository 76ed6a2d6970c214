"""`facereact data augment`: the chosen splits' wavs through rooms, everything else as it was, the
same copy whatever the order or an interruption, and what it cannot do refused by name."""
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from facereact.cli import main
from facereact.data.augment import augment_corpus
from facereact.data.check import check_corpus
from facereact.errors import UsageError


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_the_splits_wavs_go_through_rooms_and_nothing_else_changes(corpus_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "augmented"
    assert main(["data", "augment", str(corpus_root), "--out", str(out), "--splits", "val", "--quiet"]) == 0
    assert _files(out) == _files(corpus_root)
    wavs = [f for f in _files(corpus_root) if f.suffix == ".wav"]
    assert len(wavs) == 4
    for f in _files(corpus_root):
        if f.suffix != ".wav":
            assert (out / f).read_bytes() == (corpus_root / f).read_bytes()
            continue
        before, after = sf.info(str(corpus_root / f)), sf.info(str(out / f))
        assert (after.samplerate, after.channels, after.frames, after.subtype) == \
            (before.samplerate, before.channels, before.frames, before.subtype)  # stereo 44.1 kHz stays so
        assert not np.array_equal(sf.read(str(out / f))[0], sf.read(str(corpus_root / f))[0])
    assert check_corpus(out, progress=False).ok
    # seeded by path: a second copy, or one resumed after a lost wav, is byte for byte the same
    again = tmp_path / "again"
    augment_corpus(corpus_root, again, splits=("val",), progress=False)
    (again / wavs[1]).unlink()
    augment_corpus(corpus_root, again, splits=("val",), progress=False)
    assert all((again / f).read_bytes() == (out / f).read_bytes() for f in wavs)
    # the default changes train only: this corpus has none, so nothing is heard differently
    assert augment_corpus(corpus_root, tmp_path / "train_only", progress=False) == 0


def test_what_augment_cannot_do_is_refused(corpus_root: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="inside it"):
        augment_corpus(corpus_root, corpus_root / "copy", splits=("val",))
    with pytest.raises(UsageError, match="within"):
        augment_corpus(corpus_root, tmp_path / "x", room=1.5)
    with pytest.raises(UsageError, match="not one of"):
        augment_corpus(corpus_root, tmp_path / "x", splits=("dev",))
    mars = tmp_path / "mars" / "train" / "facial-attributes"
    mars.mkdir(parents=True)
    with pytest.raises(UsageError, match="REACT 2024"):
        augment_corpus(tmp_path / "mars", tmp_path / "y")
