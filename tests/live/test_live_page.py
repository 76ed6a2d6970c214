"""The live page in headless Chromium, its microphone fed from a wav file: frames arrive from the
server and the listener's face moves."""
import asyncio
import io
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image

from facereact.live.server import Limits, ReactionServer

from tests.browser import headless_chromium
from tests.generator.test_generator import models


def _browser(wav: Path):
    return headless_chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                             f"--use-file-for-fake-audio-capture={wav}")


class ServerThread:
    """The server on its own event loop in a thread, for a synchronous browser test."""

    def __init__(self, server: ReactionServer) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = self.loop.create_future()
        self.stop = self.loop.create_future()
        self.thread = threading.Thread(
            target=lambda: self.loop.run_until_complete(server.run("127.0.0.1", 0, self.ready, self.stop)), daemon=True)

    def __enter__(self) -> int:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.ready.done() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.ready.result()

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(lambda: self.stop.done() or self.stop.set_result(None))
        self.thread.join(10)


def _skin_centre(png: bytes) -> tuple[float, float] | None:
    """Where the drawn face is in a screenshot: the centroid of its skin-coloured pixels."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    skin = (np.abs(rgb - np.array([242, 201, 160])).sum(-1) < 30)
    if skin.sum() < 100:
        return None
    ys, xs = np.nonzero(skin)
    return float(xs.mean()), float(ys.mean())


def test_the_page_streams_the_microphone_shows_k_moving_heads_and_holds_while_the_listener_speaks(
        tmp_path: Path) -> None:
    rate = 48000
    t = np.arange(rate * 6) / rate
    voice = ((np.sin(2 * np.pi * 0.7 * t) > 0) * np.sin(2 * np.pi * 200 * t) * 0.4).astype(np.float32)
    sf.write(tmp_path / "speaker.wav", voice, rate, subtype="PCM_16")
    browser = _browser(tmp_path / "speaker.wav")
    generator, tokenizer = models()
    try:
        with ServerThread(ReactionServer(generator, tokenizer, limits=Limits(idle_seconds=10))) as port:
            browser.get(f"http://127.0.0.1:{port}/")
            assert "facereact" in browser.title
            browser.execute_script("document.getElementById('samples').value = '2';")  # two reactions
            browser.find_element("id", "start").click()
            deadline = time.monotonic() + 30
            live, centres = {}, []
            while time.monotonic() < deadline:
                live = browser.execute_script("return window.facereact;")
                if live["frames"] >= 5:  # screenshots of the first face as it streams: where its head is
                    centres.append(_skin_centre(browser.find_element("id", "face0").screenshot_as_png))
                if live["frames"] >= 40 and live["moved"] >= 5 and len(centres) >= 4:
                    break
                time.sleep(0.2)
            both = [_skin_centre(browser.find_element("id", f"face{i}").screenshot_as_png) for i in range(2)]
            latency = browser.find_element("id", "latency").text
            timeline = browser.execute_script(
                "const c = document.getElementById('timeline'); const d = c.getContext('2d')"
                ".getImageData(0, 0, c.width, c.height).data; let n = 0;"
                "for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n;")
            browser.find_element("id", "speak").click()  # the listener's turn: its face held
            time.sleep(1.0)
            before = browser.execute_script("return [window.facereact.moved, window.facereact.frames];")
            time.sleep(1.5)
            held = browser.execute_script("return [window.facereact.moved, window.facereact.frames];")
    finally:
        browser.quit()
    assert live["frames"] >= 40, f"only {live['frames']} frames came back"
    assert live["moved"] >= 5 and not live["errors"]
    assert set(live["last"]["emotion"]) >= {"valence", "arousal"} and len(live["last"]["samples"]) == 2
    # the screenshots: the first face's head moved on the page (its drawn position), and both faces are drawn
    seen = [c for c in centres if c is not None]
    assert len(seen) >= 4 and max(np.hypot(a[0] - b[0], a[1] - b[1]) for a in seen for b in seen) > 1.0, seen
    assert all(c is not None for c in both)
    assert len(set(map(tuple, live["heads"]))) > 3  # the pose the page drew, frame by frame
    assert latency.startswith("round trip p50") and timeline > 500
    assert held[1] - before[1] >= 20 and held[0] == before[0], f"frames and moves while speaking: {before} -> {held}"


def test_the_page_offers_a_personal_model_its_listener_and_says_who_in_the_hello(tmp_path: Path) -> None:
    from tests.generator.test_personal import personal_models

    rate = 48000
    sf.write(tmp_path / "speaker.wav", (np.sin(np.arange(rate * 3) / 7.0) * 0.3).astype(np.float32), rate,
             subtype="PCM_16")
    browser = _browser(tmp_path / "speaker.wav")
    generator, tokenizer = personal_models()
    server = ReactionServer(generator, tokenizer, limits=Limits(idle_seconds=10))
    told = None
    try:
        with ServerThread(server) as port:
            browser.get(f"http://127.0.0.1:{port}/")
            assert browser.find_element("id", "who").is_displayed()  # a personal model: the control shows
            browser.execute_script("document.getElementById('personality').value = '0.9,0.8,0.3,0.2,0.9';")
            browser.find_element("id", "start").click()
            deadline, frames = time.monotonic() + 20, 0
            while time.monotonic() < deadline and (told is None or frames < 5):
                for engine in list(server.engines.values()):
                    for conversation in list(engine.conversations.values()):
                        told = conversation.personality
                frames = browser.execute_script("return window.facereact.frames;")
                time.sleep(0.1)
    finally:
        browser.quit()
    assert told is not None and np.allclose(told, [0.9, 0.8, 0.3, 0.2, 0.9]) and frames >= 5
