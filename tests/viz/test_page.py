"""The results page: its HTML, and that headless Chromium loads the table, images and animations."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from facereact.layout import FACE_DIM, face_index
from facereact.plots import plot_emotions
from facereact.report import write_results
from facereact.viz.animate import render_tracks
from facereact.viz.face import FaceStyle
from facereact.viz.page import write_results_page

from tests.browser import headless_chromium

RESULTS = {"GroundTruth": {"FRCorr": 8.8, "FRDist": 0.0}, "Mime": {"FRCorr": 1.7, "FRDist": 110.8},
           "Ours": {"FRCorr": 1.9, "FRDist": 100.1}}


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("results")
    write_results(folder, RESULTS)
    face = np.zeros((10, FACE_DIM), dtype=np.float32)
    face[:, face_index("jawOpen")] = np.linspace(0, 1, 10)
    render_tracks([("speaker", face), ("listener", face[::-1])], folder / "reaction_clip0", FaceStyle(size=48),
                  progress=False)
    emotion = np.random.default_rng(0).uniform(0, 1, (30, 25))
    plot_emotions([("speaker", emotion)], folder / "reaction_clip0_emotion.png")
    write_results_page(folder, title="test results")
    return folder


def test_page_holds_the_table_with_best_marked_and_links_every_file(results_folder: Path) -> None:
    page = (results_folder / "index.html").read_text()
    assert page.count("<tr>") == 1 + len(RESULTS)
    assert '<td class="best">1.9000</td>' in page and '<td class="best">100.1000</td>' in page
    assert 'src="reaction_clip0.gif"' in page and 'src="reaction_clip0.mp4"' in page
    assert 'src="reaction_clip0_emotion.png"' in page
    assert 'href="results.csv"' in page


def test_chromium_loads_the_table_images_and_animations(results_folder: Path) -> None:
    browser = headless_chromium()
    try:
        browser.get((results_folder / "index.html").as_uri())
        state = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            state = browser.execute_script("""
                const imgs = [...document.images].map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);
                const videos = [...document.querySelectorAll('video')].map(
                    v => [v.getAttribute('src'), v.readyState, v.error ? v.error.code : 0, v.videoWidth]);
                return {ready: document.readyState, rows: document.querySelectorAll('#results tbody tr').length,
                        imgs: imgs, videos: videos};""")
            if state["ready"] == "complete" and all(v[1] >= 1 or v[2] for v in state["videos"]):
                break
            time.sleep(0.2)
        assert state["rows"] == len(RESULTS)
        assert {i[0] for i in state["imgs"]} == {"reaction_clip0.gif", "reaction_clip0_emotion.png"}
        assert all(i[1] and i[2] > 0 for i in state["imgs"]), state["imgs"]
        assert state["videos"] and all(v[2] == 0 and v[1] >= 1 and v[3] == 96 for v in state["videos"]), state["videos"]
        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, json.dumps(severe)
    finally:
        browser.quit()


def test_page_shows_the_behaviour_table_and_its_curves(tmp_path: Path) -> None:
    from facereact.metrics.behaviour import REACTIONS
    from facereact.plots import plot_behaviour_curves

    write_results(tmp_path, RESULTS)
    rows = {"GroundTruth": {"nod lift": 2.4, "nods/min": 8.5}, "Mime": {"nod lift": 0.6, "nods/min": 8.5},
            "Ours": {"nod lift": 1.9, "nods/min": None}}
    (tmp_path / "behaviour.json").write_text(json.dumps(rows))
    curve_s = [-1.0, 0.0, 1.0]
    figures = {"reactions": {k: {"curve": [1.0, 1.0, 2.0], "curve_s": curve_s} for k in REACTIONS}}
    still = {"reactions": {k: {"curve": None, "curve_s": curve_s} for k in REACTIONS}}
    plot_behaviour_curves({"GroundTruth": figures, "Ours": figures, "MeanFr": still}, tmp_path / "behaviour_curves.png")
    page = write_results_page(tmp_path).read_text()
    behaviour = page[page.index('<table id="behaviour">'):]
    assert behaviour.count("<tr>") == 1 + len(rows)
    assert '<td class="best">1.9000</td>' in behaviour and "<td>-</td>" in behaviour  # nearest the real 2.4
    assert 'src="behaviour_curves.png"' in page and (tmp_path / "behaviour_curves.png").stat().st_size > 10_000
