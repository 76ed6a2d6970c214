"""The live page in headless Chromium, its microphone fed from a wav file: frames arrive from the
server and the listener's face moves."""
import asyncio
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf

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


def test_the_page_streams_the_microphone_the_face_moves_and_holds_while_the_listener_speaks(tmp_path: Path) -> None:
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
            browser.find_element("id", "start").click()
            deadline = time.monotonic() + 30
            live = {}
            while time.monotonic() < deadline:
                live = browser.execute_script("return window.facereact;")
                if live["frames"] >= 40 and live["moved"] >= 5:
                    break
                time.sleep(0.2)
            browser.find_element("id", "speak").click()  # the listener's turn: its face held
            time.sleep(1.0)
            before = browser.execute_script("return [window.facereact.moved, window.facereact.frames];")
            time.sleep(1.5)
            held = browser.execute_script("return [window.facereact.moved, window.facereact.frames];")
    finally:
        browser.quit()
    assert live["frames"] >= 40, f"only {live['frames']} frames came back"
    assert live["moved"] >= 5 and not live["errors"]
    assert set(live["last"]["emotion"]) >= {"valence", "arousal"}
    assert held[1] - before[1] >= 20 and held[0] == before[0], f"frames and moves while speaking: {before} -> {held}"
