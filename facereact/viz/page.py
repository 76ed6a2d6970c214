"""One static HTML page per results folder: the comparison table, the plots and the animations."""
from __future__ import annotations

import html
import json
from pathlib import Path
from urllib.parse import quote

from facereact.io import write_text_atomic
from facereact.metrics.behaviour import BEHAVIOUR_COLUMNS, BEHAVIOUR_NOTE
from facereact.metrics.persona import PERSONA_COLUMNS, PERSONA_NOTE
from facereact.report import COLUMNS, COLUMNS_2025, best_rows

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.best { font-weight: bold; background: #eef6ee; }
figure { margin: 1.5em 0; }
img, video { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
"""


MARS_NOTE = ("Best per column highlighted (ground truth excluded; TLCC: closest to the ground truth's). "
             "REACT 2025/2026 protocol: each input's appropriate targets drawn from its own session.")
REACT_NOTE = ("Best per column highlighted (ground truth excluded; FRSyn: closest to the ground truth's). "
              "FRFD is a Fréchet distance of 1 s emotion-window statistics, not the challenge's FRRea.")


def _table(results: dict[str, dict], columns: dict[str, str] = COLUMNS, note: str = REACT_NOTE,
           table_id: str = "results") -> str:
    cols = [c for c in columns if any(c in r for r in results.values())]
    best = best_rows(results, columns)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = []
    for name, r in results.items():
        cells = []
        for c in cols:
            text = f"{r[c]:.4f}" if r.get(c) is not None else "-"
            cells.append(f'<td class="best">{text}</td>' if best.get(c) == name else f"<td>{text}</td>")
        rows.append(f"<tr><td>{html.escape(name)}</td>{''.join(cells)}</tr>")
    return (f'<table id="{table_id}"><thead><tr><th>system</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f"</table><p>{html.escape(note)}</p>")


def _src(path: Path) -> str:
    return html.escape(quote(path.name))


def _caption(path: Path) -> str:
    return html.escape(path.stem.replace("_", " "))


def write_results_page(folder: str | Path, title: str = "facereact results", intro: str = "") -> Path:
    """folder/index.html linking results.json's table and every .png, .gif and .mp4 in the folder."""
    folder = Path(folder)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    if intro:
        parts.append(f"<p>{html.escape(intro)}</p>")
    results_json = folder / "results.json"
    if results_json.is_file():
        parts.append("<h2>Comparison</h2>")
        results = json.loads(results_json.read_text())
        # A REACT 2025/2026 table (MARS) has its own columns and best-of rules.
        mars = any("FRC" in r for r in results.values())
        parts.append(_table(results, COLUMNS_2025 if mars else COLUMNS, MARS_NOTE if mars else REACT_NOTE))
        links = " · ".join(f'<a href="results.{ext}">results.{ext}</a>' for ext in ("md", "csv", "json")
                           if (folder / f"results.{ext}").is_file())
        parts.append(f"<p>{links}</p>")
    behaviour_json = folder / "behaviour.json"
    if behaviour_json.is_file():
        parts.append("<h2>Behaviour: when the listener reacts</h2>")
        parts.append(_table(json.loads(behaviour_json.read_text()), BEHAVIOUR_COLUMNS, BEHAVIOUR_NOTE, "behaviour"))
    persona_json = folder / "persona.json"
    if persona_json.is_file():
        parts.append("<h2>Persona fidelity: does each listener keep its person's style</h2>")
        parts.append(_table(json.loads(persona_json.read_text()), PERSONA_COLUMNS, PERSONA_NOTE, "persona"))
    animations: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".gif", ".mp4") and not path.name.startswith("."):  # dot files: unfinished writes
            animations.setdefault(path.stem, []).append(path)
    if animations:
        parts.append("<h2>Reactions</h2>")
        for stem, paths in animations.items():
            media = []
            for path in paths:  # the GIF plays by itself; the MP4 carries the speaker's audio
                name = _src(path)
                media.append(f'<img class="animation" src="{name}" alt="{html.escape(stem)}">' if path.suffix == ".gif"
                             else f'<video class="animation" src="{name}" controls preload="metadata"></video>')
            names = ", ".join(html.escape(p.name) for p in paths)
            parts.append(f"<figure>{'<br>'.join(media)}<figcaption>{_caption(paths[0])} ({names})</figcaption></figure>")
    plots = sorted(p for p in folder.glob("*.png") if not p.name.startswith("."))
    if plots:
        parts.append("<h2>Plots</h2>")
        for path in plots:
            parts.append(f'<figure><img class="plot" src="{_src(path)}" alt="{_caption(path)}">'
                         f"<figcaption>{_caption(path)}</figcaption></figure>")
    parts.append("</body></html>\n")
    page = folder / "index.html"
    write_text_atomic(page, "\n".join(parts))
    return page
