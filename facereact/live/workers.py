"""`facereact serve --workers N`: N server processes sharing one listening socket.

A tick is a batched forward pass on one core (a second torch thread barely helps it: 25.4 -> 22.3
ms for 32 conversations), so a second core serves more conversations as a second process. Each
worker gets its own listening socket, all bound to one port with SO_REUSEPORT, and the kernel
spreads new connections over them by a hash of their addresses. (One socket shared by every worker
gave all 32 test connections to one of them: the last process to wait is woken first.) Limits
(sessions, rates) apply per worker. A worker that dies is restarted on a fresh socket; its
conversations end with it, the other workers' go on.
"""
from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

RESTART_PAUSE = 1.0  # seconds before a dead worker is started again, so a crash loop cannot spin


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port that other processes may bind too (port 0: a free one)."""
    return socket.create_server((host, port), backlog=1024, reuse_port=True)


def run_workers(target: Callable[..., Any], host: str, port: int, workers: int, args: tuple,
                until: Callable[[], bool] | None = None) -> int:
    """Run target(sock, worker_index, workers, *args) in `workers` spawned processes, each with its
    own socket on host:port, until SIGINT or SIGTERM (or until() is true, for tests); restart any
    that dies. Returns the number of restarts."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no torch threads forked
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    first = listening_socket(host, port)
    port = first.getsockname()[1]  # port 0 resolved: every worker binds the same one
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start(index: int, sock: socket.socket | None = None) -> multiprocessing.process.BaseProcess:
        sock = sock if sock is not None else listening_socket(host, port)
        process = context.Process(target=target, args=(sock, index, workers, *args), daemon=True)
        process.start()
        sock.close()  # the worker holds its own copy; one left open here would take connections too
        return process

    processes = [start(0, first)] + [start(i) for i in range(1, workers)]
    restarts = 0
    try:
        while not stopping and not (until is not None and until()):
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    print(f"worker {i} exited (code {process.exitcode}); restarting it", flush=True)
                    time.sleep(RESTART_PAUSE)
                    processes[i] = start(i)
                    restarts += 1
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: each worker closes its conversations and returns
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return restarts
