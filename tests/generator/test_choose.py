"""A generator picks its own sampling on its validation split, keeps it, and everything uses it."""
import json
import math
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest

from facereact.benchmark import prediction_key
from facereact.cli import main
from facereact.generator.choose import CHOICE_FILE, GUIDANCES, MARGIN, chosen_for, pick, score, timing_error
from facereact.generator.model import GeneratorConfig, ReactionGenerator
from facereact.generator.model import load_generator
from facereact.generator.sampling import RECOMMENDED_ONLINE, Sampling, own_sampling, recommended_for
from facereact.generator.session import StreamingSession

SMALL = ["--width", "16", "--layers", "1", "--heads", "2", "--context", "8", "--warmup", "2", "--epochs", "1"]


def _row(corr: float, dist: float, div: float, timing: float) -> dict:
    return {"FRCorr": corr, "FRDist": dist, "FRDiv": div, "timing_error": timing}


def test_the_rule_sums_shortfalls_from_the_best() -> None:
    rows = [_row(1.6, 88.0, 0.09, 0.40),  # best FRDist
            _row(1.8, 92.0, 0.08, 0.30),  # the house
            _row(1.9, 99.0, 0.07, 0.20)]  # best FRCorr and timing
    scores = score(rows, house=1)
    assert scores[0] == pytest.approx((1 - 1.6 / 1.9) + 0 + 0.20)
    assert scores[1] == pytest.approx((1 - 1.8 / 1.9) + (92 / 88 - 1) + 0.10)
    assert scores[2] == pytest.approx(0 + (99 / 88 - 1) + 0)
    assert pick(rows, house=1) == 2 and rows[1]["score"] == scores[1]
    # Below the diversity floor (0.85 of the house's FRDiv): out, and not the best of any figure.
    rows[2]["FRDiv"] = 0.06
    assert score(rows, house=1)[2] is None
    assert score(rows, house=1)[1] == pytest.approx((1 - 1.8 / 1.8) + (92 / 88 - 1) + 0.0)
    assert pick(rows, house=1) == 1
    # Ties go to the earlier (smaller guidance) candidate; the house stays unless beaten by MARGIN.
    assert pick([_row(1, 90, 0.1, 0.1), _row(1, 90, 0.1, 0.1), _row(1, 90, 0.1, 0.1)], house=1) == 1
    assert pick([_row(1, 90, 0.1, 0.1), _row(1, 90, 0.1, 0.1 + MARGIN / 2)], house=1) == 1
    assert pick([_row(1, 90, 0.1, 0.1), _row(1, 90, 0.1, 0.1 + 2 * MARGIN)], house=1) == 0
    assert pick([_row(1, 90, 0.1, 0.1), _row(1, 90, 0.1, 0.2), _row(1, 90, 0.1, 0.1)], house=1) == 0


def test_timing_error_counts_the_reactions_real_listeners_show() -> None:
    real = {"nod lift": 2.0, "smile lift": 1.5, "brow lift": 1.05, "concern lift": None, "nod peak s": 0.6}
    row = {"nod lift": 1.0, "smile lift": 3.0, "brow lift": 9.0, "concern lift": None, "nod peak s": 2.0}
    # brow (real lift 1.05: not a reaction this corpus has), concern (no frowns to follow) and the
    # peak column do not count.
    assert timing_error(row, real) == pytest.approx(math.log(2.0))
    assert timing_error(real, real) == 0.0
    # Without the speaker's face, the smile answering the speaker's smile is not counted: the nod alone
    assert timing_error(row, real, face_seen=False) == pytest.approx(math.log(2.0))
    heard = {**real, "nod lift": 2.0, "mmhmm lift": 2.0}
    assert timing_error({**row, "nod lift": 2.0, "mmhmm lift": 1.0}, heard, face_seen=False) == \
        pytest.approx(math.log(2.0) / 2)  # nod right, mm-hmm half: smile left out
    assert timing_error({**row, "nod lift": 2.0, "mmhmm lift": 1.0}, heard) == \
        pytest.approx(math.log(2.0) * 2 / 3)  # with the face, the smile counts


def test_own_sampling_prefers_the_chosen() -> None:
    generator = ReactionGenerator(GeneratorConfig(width=16, heads=2, layers=1, context=8))
    assert own_sampling(generator) == RECOMMENDED_ONLINE
    generator.chosen_sampling = replace(RECOMMENDED_ONLINE, guidance=2.0, temperature=1.0)
    assert own_sampling(generator).guidance == 2.0
    assert own_sampling(generator, {"guidance": 3.0}) == replace(RECOMMENDED_ONLINE, guidance=3.0, temperature=1.0)
    generator.chosen_sampling = replace(RECOMMENDED_ONLINE, guidance=6.0, guidance_no_face=2.0)
    assert own_sampling(generator).guidance_no_face == 2.0
    assert own_sampling(generator, {"temperature": 1.0}).guidance_no_face == 2.0
    # a guidance given is every conversation's, with or without a face
    assert own_sampling(generator, {"guidance": 3.0}) == replace(RECOMMENDED_ONLINE, guidance=3.0)
    distilled = ReactionGenerator(GeneratorConfig(width=16, heads=2, layers=1, context=8, distilled_guidance=4.0))
    assert own_sampling(distilled).guidance == 1.0


def test_train_chooses_and_every_command_uses_it(tiny_corpus: Path, tmp_path: Path, capsys) -> None:
    tok, gen = tmp_path / "tok", tmp_path / "gen"
    assert main(["train", "tokenizer", "--data", str(tiny_corpus), "--out", str(tok), *SMALL, "--window", "16",
                 "--batch-size", "8"]) == 0
    assert main(["train", "generator", "--data", str(tiny_corpus), "--tokenizer", str(tok), "--out", str(gen),
                 *SMALL, "--window", "32", "--batch-size", "4"]) == 0
    printed = capsys.readouterr().out
    assert "chosen: guidance" in printed and "| inputs | guidance | temperature |" in printed
    evidence = json.loads((gen / CHOICE_FILE).read_text())
    chosen = Sampling(**evidence["chosen"])
    assert json.loads((gen / "config.json").read_text())["sampling"] == asdict(chosen)
    # every guidance drawn seeing the speaker's face, those up to its choice hearing audio alone; no
    # temperature unless asked
    assert [(c["inputs"], c["sampling"]["guidance"]) for c in evidence["candidates"]] == \
        [("full", g) for g in GUIDANCES] + [("audio", g) for g in GUIDANCES if g <= chosen.guidance]
    assert chosen.guidance_no_face is None or chosen.guidance_no_face < chosen.guidance
    for inputs, house in (("full", RECOMMENDED_ONLINE.guidance), ("audio", chosen.guidance)):
        scored = [c for c in evidence["candidates"] if c["score"] is not None and c["inputs"] == inputs]
        best = min(scored, key=lambda c: c["score"])
        chosen_row = next(c for c in scored if c["sampling"]["guidance"] == chosen_for(chosen, inputs)[0])
        # The best by the rule, or the house guidance (audio alone: the face's) within MARGIN of it.
        assert chosen_row is best or (chosen_row["sampling"]["guidance"] == house
                                      and chosen_row["score"] <= best["score"] + MARGIN)
    generator, tokenizer = load_generator(gen)
    assert generator.chosen_sampling == chosen and own_sampling(generator) == chosen

    # The benchmark draws with the chosen sampling (its cache key says which; no tag in the name) ...
    bench = tmp_path / "bench"
    assert main(["benchmark", "--data", str(tiny_corpus), "--models", str(gen), "--samples", "2",
                 "--out", str(bench), "--no-behaviour"]) == 0
    assert "Ours (FSQ, online, gen)" in json.loads((bench / "results.json").read_text())
    with np.load(bench / "pred_val_gen.npz") as cached:
        assert str(cached["cache_key"]) == prediction_key(gen, tiny_corpus, "val", 2, 0, chosen)
    # ... the live session too, and stream says so ...
    assert StreamingSession(generator, tokenizer, 2, None).sampling == chosen
    wav = next((tiny_corpus / "val" / "Audio_files").rglob("*.wav"))
    capsys.readouterr()
    assert main(["stream", "--model", str(gen), "--wav", str(wav), "--frames", "5", "--fast"]) == 0
    no_face = "" if chosen.guidance_no_face is None else f", {chosen.guidance_no_face:g} without the speaker's face"
    assert (f"sampling: guidance {chosen.guidance:g}{no_face} (ramped over {chosen.guidance_ramp} frames), "
            f"temperature {chosen.temperature:g} (chosen on its validation split)") in capsys.readouterr().out
    # ... and a flag still overrides it, on top of the chosen temperature.
    other = 6.0 if chosen.guidance != 6.0 else 2.0
    assert main(["benchmark", "--data", str(tiny_corpus), "--models", str(gen), "--samples", "2",
                 "--out", str(bench), "--no-behaviour", "--guidance", f"{other:g}"]) == 0
    names = json.loads((bench / "results.json").read_text())
    assert f"Ours (FSQ, online, gen) t{chosen.temperature:g}_kNone_pNone_g{other:g}_r{chosen.guidance_ramp}" in names

    # A folder from before the choice existed samples as the house says.
    config = json.loads((gen / "config.json").read_text())
    del config["sampling"]
    (gen / "config.json").write_text(json.dumps(config))
    generator, _ = load_generator(gen)
    assert generator.chosen_sampling is None and own_sampling(generator) == recommended_for(generator.config)
    # choose-sampling on its own puts it back, without --save games.
    assert main(["choose-sampling", "--model", str(gen), "--data", str(tiny_corpus)]) == 0
    assert load_generator(gen)[0].chosen_sampling is not None


def test_a_bad_saved_sampling_names_the_file(tiny_corpus: Path, tmp_path: Path) -> None:
    from facereact.errors import DataError

    gen = tmp_path / "gen"
    ReactionGenerator(GeneratorConfig(width=16, heads=2, layers=1, context=8)).save(gen)
    config = json.loads((gen / "config.json").read_text())
    config["sampling"] = {"guidance": -1.0}
    (gen / "config.json").write_text(json.dumps(config))
    with pytest.raises(DataError, match="config.json"):
        ReactionGenerator.load(gen)
