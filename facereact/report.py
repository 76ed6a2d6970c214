"""The comparison table: rows are systems, columns the REACT figures, best value per column marked."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from facereact.io import write_text_atomic

# Column -> how "best" is judged; FRSyn is best when closest to the ground truth's.
COLUMNS = {"FRCorr": "max", "FRDist": "min", "FRDiv": "max", "FRVar": "max", "FRDvs": "max", "FRFD": "min",
           "FRSyn": "closest_to_gt", "FRSyn_corrected": "closest_to_gt"}
# REACT 2025/2026's figures (metrics/react2025.py): TLCC is best closest to the ground truth's too.
COLUMNS_2025 = {"FRC": "max", "FRD": "min", "S-MSE": "max", "FRVar": "max", "TLCC": "closest_to_gt", "MAE": "min"}
REFERENCE = "GroundTruth"


def best_rows(results: dict[str, dict], columns: dict[str, str] = COLUMNS) -> dict[str, str]:
    """Column -> name of the best system other than the ground truth."""
    best = {}
    rivals = {name: r for name, r in results.items() if name != REFERENCE}
    for col, rule in columns.items():
        values = {name: r[col] for name, r in rivals.items() if r.get(col) is not None}
        if not values:
            continue
        if rule == "max":
            best[col] = max(values, key=values.get)
        elif rule == "min":
            best[col] = min(values, key=values.get)
        elif REFERENCE in results and col in results[REFERENCE]:
            target = results[REFERENCE][col]
            best[col] = min(values, key=lambda n: abs(values[n] - target))
    return best


REACT_NOTE = "Best per column in bold (ground truth excluded; FRSyn and TLCC: closest to the ground truth's)."


def markdown_table(results: dict[str, dict], columns: dict[str, str] = COLUMNS, note: str = REACT_NOTE) -> str:
    cols = [c for c in columns if any(c in r for r in results.values())]
    best = best_rows(results, columns)
    lines = ["| system | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for name, r in results.items():
        cells = []
        for c in cols:
            text = f"{r[c]:.4f}" if r.get(c) is not None else "-"
            cells.append(f"**{text}**" if best.get(c) == name else text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    notes = ["", note]
    if "FRFD" in cols:
        notes.append("FRFD is a Fréchet distance of 1 s emotion-window statistics, not the challenge's FRRea.")
    return "\n".join(lines + notes) + "\n"


def write_results(out: str | Path, results: dict[str, dict], stem: str = "results",
                  columns: dict[str, str] = COLUMNS, note: str = REACT_NOTE) -> str:
    """out/<stem>.md, .csv and .json; returns the Markdown."""
    out = Path(out)
    table = markdown_table(results, columns, note)
    write_text_atomic(out / f"{stem}.md", table)
    write_text_atomic(out / f"{stem}.json", json.dumps(results, indent=2) + "\n")
    cols = [c for c in columns if any(c in r for r in results.values())]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["system", *cols])
    for name, r in results.items():
        w.writerow([name, *(r.get(c, "") for c in cols)])
    write_text_atomic(out / f"{stem}.csv", buf.getvalue())
    return table
