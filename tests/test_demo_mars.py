"""`facereact demo --layout mars`: the REACT 2025/2026 pipeline end to end, at toy sizes."""
import json
from pathlib import Path

import pytest

from facereact.cli import main
from facereact.demo_mars import run_mars_demo
from facereact.errors import DataError
from facereact.generator.model import GeneratorConfig
from facereact.synth.mars_writer import MarsSynthConfig
from facereact.tokenizer.model import TokenizerConfig


def test_the_mars_demo_writes_the_react2025_table_and_page(tmp_path: Path) -> None:
    out = run_mars_demo(tmp_path / "demo", seed=0, tokenizer_epochs=1, tokenizer_min_steps=0, generator_epochs=1,
                        synth=MarsSynthConfig(sessions=2, clips_per_session=1, min_frames=150, max_frames=160),
                        tokenizer_config=TokenizerConfig(width=16, layers=1, heads=2, context=8),
                        generator_config=GeneratorConfig(width=16, layers=1, heads=2, context=8), batch_size=4,
                        baseline_epochs=1)
    results = json.loads((out / "results.json").read_text())
    assert {"GroundTruth", "Mime", "MeanSeq", "Random", "Ours (FSQ, online, generator_online)"} <= set(results)
    for figures in results.values():
        assert {"FRC", "FRD", "S-MSE", "FRVar", "TLCC", "MAE"} <= set(figures)
    page = (out / "index.html").read_text()
    assert "<th>FRC</th>" in page and "REACT 2025/2026 (MARS)" in page and "2 sessions" in page
    assert '<table id="persona">' in page and "<th>fidelity</th>" in page  # the generator's persona fidelity
    # ours, not the challenge's: when each listener reacts, the real partners, Mime and the generator
    behaviour = json.loads((out / "behaviour.json").read_text())
    assert set(behaviour) == {"GroundTruth", "Mime", "Ours (FSQ, online, generator_online)",
                              "Trans-VAE (online, trans_vae)", "BeLFusion (k=10, online, belfusion)"}
    assert {"Trans-VAE (online, trans_vae)", "BeLFusion (k=10, online, belfusion)"} <= set(results)
    assert '<table id="behaviour">' in page and (out / "behaviour_curves.png").is_file()
    assert (out / "targets.json").is_file() and json.loads((out / "timings.json").read_text())["tokenizer"] > 0
    # the generator chose its sampling on val, and the table's row is drawn with it (no tag in its name)
    assert "sampling" in json.loads((out / "generator_online" / "config.json").read_text())
    evidence = json.loads((out / "generator_online" / "sampling_choice.json").read_text())
    assert {c["inputs"] for c in evidence["candidates"]} == {"full"}  # what the react2025 table scores
    assert json.loads((out / "timings.json").read_text())["sampling"] > 0
    # A second run reuses every stage: nothing is trained again.
    stamp = (out / "generator_online" / "model.safetensors").stat().st_mtime_ns
    baseline = (out / "trans_vae" / "model.safetensors").stat().st_mtime_ns
    run_mars_demo(out, tokenizer_epochs=1, tokenizer_min_steps=0, generator_epochs=1, baseline_epochs=1)
    assert (out / "generator_online" / "model.safetensors").stat().st_mtime_ns == stamp
    assert (out / "trans_vae" / "model.safetensors").stat().st_mtime_ns == baseline


def test_the_mars_demo_refuses_a_react2024_corpus(tmp_path: Path, tiny_corpus: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "corpus").symlink_to(tiny_corpus)
    with pytest.raises(DataError, match="not a MARS corpus"):
        run_mars_demo(tmp_path / "demo")
    assert main(["demo", "--layout", "mars", "--settings", "offline", "--out", str(tmp_path / "x")]) == 2


def test_the_personal_mars_demo_scores_both_tracks(tmp_path: Path) -> None:
    out = run_mars_demo(tmp_path / "demo", seed=0, tokenizer_epochs=1, tokenizer_min_steps=0, generator_epochs=1,
                        personal=True,
                        synth=MarsSynthConfig(sessions=2, clips_per_session=1, min_frames=150, max_frames=160),
                        tokenizer_config=TokenizerConfig(width=16, layers=1, heads=2, context=8),
                        generator_config=GeneratorConfig(width=16, layers=1, heads=2, context=8), batch_size=4,
                        baseline_epochs=1)
    results = json.loads((out / "results.json").read_text())
    assert {"Ours (FSQ, online, generator_personal)", "Ours (FSQ, online, generator_personal), personal"} <= set(results)
    assert (out / "generator_personal_training.png").is_file()
    assert "a personal online generator" in (out / "index.html").read_text()
    assert main(["demo", "--personal", "--out", str(tmp_path / "x")]) == 2  # the REACT 2024 demo has no personal run
