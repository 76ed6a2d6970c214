"""`serve --workers`: processes sharing one port, each with its own socket; a dead one is restarted."""
import asyncio
import socket
import sys
import threading
import time
from pathlib import Path

from facereact.live.server import ReactionServer
from facereact.live.workers import run_workers

from tests.generator.test_generator import models
from tests.live.test_server import running


def echo_worker(sock: socket.socket, index: int, workers: int, crash_marker: str) -> None:
    """Answers every connection with its worker index. Worker 1 exits at its first start."""
    marker = Path(crash_marker)
    if index == 1 and not marker.exists():
        marker.touch()
        sys.exit(3)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"{index}/{workers}".encode())
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(answer, sock=sock)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_workers_share_one_port_and_a_dead_worker_is_restarted(tmp_path: Path) -> None:
    port = free_port()
    answers: list[str] = []

    def connect_many() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(set(answers)) < 2:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    answers.append(s.recv(16).decode())
            except OSError:
                time.sleep(0.1)  # workers still starting, or one restarting

    clients = threading.Thread(target=connect_many)
    clients.start()
    started = time.monotonic()
    # Runs in this (main) thread: it installs the SIGINT/SIGTERM handlers.
    restarts = run_workers(echo_worker, "127.0.0.1", port, 2, (str(tmp_path / "crashed"),),
                           until=lambda: not clients.is_alive())
    clients.join()
    assert restarts == 1  # worker 1 exited once and came back
    # Both workers answered on the one port: the kernel spread connections over their sockets.
    assert set(answers) == {"0/2", "1/2"}, answers[:10]
    assert time.monotonic() - started < 30
    # After the stop, nothing listens there any more (the parent kept no socket open).
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        still_open = True
    except OSError:
        still_open = False
    assert not still_open


def test_a_worker_numbers_conversations_apart_from_the_others() -> None:
    # Worker 1 of 2 gives ids 1, 3, 5, ...; worker 0 gives 0, 2, 4: the ids never collide (Live Link
    # subjects are named by them).
    from websockets.asyncio.client import connect
    import json

    generator, tokenizer = models()

    async def main() -> list[int]:
        ids = []
        async with running(ReactionServer(generator, tokenizer, ids=(1, 2))) as url:
            for seed in range(3):
                async with connect(url) as ws:
                    await ws.send(json.dumps({"type": "hello", "sample_rate": 16000, "samples": 1, "seed": seed}))
                    ids.append(json.loads(await ws.recv())["conversation"])
        return ids

    assert asyncio.run(main()) == [1, 3, 5]
