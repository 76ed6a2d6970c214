"""Faults a robot meets: the server stopped under a streaming client (SIGTERM) closes its
conversations with 1012; the client says why, reconnects with backoff to the restarted server
and finishes the recording from the first frame not answered."""
import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import numpy as np

from facereact.live.client import stream_reconnecting

from tests.generator.test_generator import models
from tests.live.test_server import RATE, recording


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _serve(model: Path, port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "facereact.cli", "serve", "--model", str(model), "--port", str(port), "--samples", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_a_server_stopped_under_a_client_says_so_and_the_client_comes_back(tmp_path: Path) -> None:
    generator, tokenizer = models()
    generator.save(tmp_path / "model")
    tokenizer.save(tmp_path / "model" / "tokenizer")
    port, frames = _free_port(), 100
    said: list[str] = []

    async def main():
        first = await _serve(tmp_path / "model", port)
        received: list[dict] = []
        stopped = asyncio.get_running_loop().create_future()

        def on_frame(frame: dict) -> None:
            received.append(frame)
            if len(received) == 20 and not stopped.done():
                stopped.set_result(None)

        client = asyncio.create_task(stream_reconnecting(
            f"ws://127.0.0.1:{port}", recording(frames, 1), RATE, reconnect=8, backoff=0.25, on_frame=on_frame,
            say=said.append))
        try:
            await asyncio.wait_for(stopped, 60)  # the first server is up and streaming
            first.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(first.communicate(), 20)
            second = await _serve(tmp_path / "model", port)
            try:
                run = await asyncio.wait_for(client, 90)
            finally:
                second.send_signal(signal.SIGTERM)
                await asyncio.wait_for(second.communicate(), 20)
        finally:
            for process in (first,):
                if process.returncode is None:
                    process.kill()
        return first.returncode, out.decode(), run

    code, out, run = asyncio.run(main())
    assert code == 0 and "stopped" in out
    restart = [i for i, line in enumerate(said) if "1012 the server is stopping: reconnect" in line]
    assert len(restart) == 1 and said[restart[0] + 1].startswith("reconnecting in 0.2 s (attempt 1 of 8)")
    assert len(run.frames) == frames and run.latency.summary()["lost"] == 0
    # the second conversation's frames start at 0 again: the recording went on where it stopped
    indices = np.array([f["frame"] for f in run.frames])
    assert (np.diff(indices) < 0).sum() == 1
