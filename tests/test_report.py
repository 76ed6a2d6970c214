import json
from pathlib import Path

from facereact.report import best_rows, write_results

RESULTS = {
    "GroundTruth": {"FRCorr": 9.0, "FRDist": 0.0, "FRDiv": 0.0, "FRSyn": 48.0},
    "Mime": {"FRCorr": 0.4, "FRDist": 90.0, "FRDiv": 0.0, "FRSyn": 38.0},
    "Random": {"FRCorr": 0.05, "FRDist": 230.0, "FRDiv": 0.17, "FRSyn": 44.0},
}


def test_best_per_column_excludes_ground_truth() -> None:
    best = best_rows(RESULTS)
    assert best == {"FRCorr": "Mime", "FRDist": "Mime", "FRDiv": "Random", "FRSyn": "Random"}


def test_written_in_three_formats(tmp_path: Path) -> None:
    table = write_results(tmp_path, RESULTS)
    assert "| Mime | **0.4000** | **90.0000** | 0.0000 | 38.0000 |" in table
    assert json.loads((tmp_path / "results.json").read_text())["Random"]["FRDist"] == 230.0
    assert (tmp_path / "results.csv").read_text().splitlines()[0] == "system,FRCorr,FRDist,FRDiv,FRSyn"
