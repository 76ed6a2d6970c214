"""Load on `facereact serve`, loopback only and bounded in time: N clients each stream a recording in
real time; per-frame round trip p50/p99/max, frames over 40 ms, frames lost, p99 of the first
second (everyone joining) and of the rest, the server's and the clients' CPU use, and the server's
memory before and after connect/disconnect cycles.

    python benchmarks/serve_load.py --model results/demo/generator_distilled --clients 1 8 32 --samples 1 10 \
        [--serve-flags '--reserve 32'] [--connect-first]

The server runs as its own process (`facereact serve`), the clients in this one.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

import numpy as np

from facereact.layout import FPS
from facereact.live.client import Latency, ReactionClient, stream_recording

RATE = 16000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stat(pid: int) -> list[str]:
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()


def tree(pid: int) -> list[int]:
    """pid and its descendants (serve --workers runs its workers as child processes)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(_stat(int(entry))[1])
            except (OSError, IndexError):
                pass  # exited meanwhile
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        fields = _stat(p)
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mib(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        for line in open(f"/proc/{p}/status"):
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def recording(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = (np.sin(2 * np.pi * 0.4 * t) > 0) * np.sin(2 * np.pi * 180 * t) * 0.3
    return (voiced + rng.normal(0, 0.02, len(t))).astype(np.float32)


async def wait_for_server(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with ReactionClient(url):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def load(url: str, clients: int, samples: int, seconds: float, spread: bool,
               connect_first: bool = False) -> dict[str, float]:
    """Latency.summary over every client's frames. spread: client i starts i / clients of a frame
    after the first (robots and avatars are not phase-locked); else all start together.
    connect_first: every client connects before any streams (the frames without the handshakes)."""
    audio = [recording(seconds, s) for s in range(clients)]
    everyone, waiting = asyncio.Event(), [clients]

    async def connected() -> None:
        waiting[0] -= 1
        if not waiting[0]:
            everyone.set()
        await everyone.wait()

    async def client(i: int, a: np.ndarray):
        phase = i / clients / FPS if spread else 0.0
        if not connect_first:
            await asyncio.sleep(phase)
            return await stream_recording(url, a, RATE, samples=samples, seed=i)

        async def then_phase() -> None:
            await connected()
            await asyncio.sleep(phase)

        return await stream_recording(url, a, RATE, samples=samples, seed=i, connected=then_phase)

    results = await asyncio.gather(*(client(i, a) for i, a in enumerate(audio)))
    closed = [lat.closed for _, lat in results if lat.closed]
    if closed:
        print(f"  {len(closed)} of {clients} conversations closed early, e.g. {closed[0]}")
    summary = Latency([t for _, lat in results for t in lat.seconds],
                      sum(lat.frames_sent for _, lat in results)).summary()
    # the first second (everyone joining) apart from the rest (everyone streaming)
    for name, part in (("start", slice(0, FPS)), ("after", slice(FPS, None))):
        ms = np.array([t for _, lat in results for t in lat.seconds[part]]) * 1000
        summary[f"p99_{name}_ms"] = float(np.percentile(ms, 99)) if len(ms) else float("nan")
    return summary


async def cycles(url: str, count: int) -> None:
    silence = np.zeros(RATE // FPS, "<i2").tobytes()
    for _ in range(count):
        async with ReactionClient(url) as client:
            await client.send_audio(silence)
            await client.next_frame()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="results/demo/generator_online")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--samples", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--seconds", type=float, default=10.0, help="of audio per client per run")
    parser.add_argument("--cycles", type=int, default=1000, help="connect/disconnect cycles for the memory figure")
    parser.add_argument("--threads", type=int, default=1, help="the server's torch threads (serve --threads)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (serve --workers)")
    parser.add_argument("--phases", choices=["spread", "aligned"], default="spread",
                        help="clients' frame phases: spread evenly over a frame (default), or all at once")
    parser.add_argument("--connect-first", action="store_true",
                        help="every client connects before any streams (leaves the handshakes out of the frames)")
    parser.add_argument("--serve-flags", default="", help="more `facereact serve` flags, e.g. '--gather-ms 8'")
    args = parser.parse_args()
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "facereact.cli", "serve", "--model", args.model, "--port",
                               str(port), "--samples", str(max(args.samples)), "--max-sessions",
                               str(max(args.clients) + 1), "--threads", str(args.threads),
                               "--workers", str(args.workers), *args.serve_flags.split()],
                              stdout=subprocess.DEVNULL)
    try:
        asyncio.run(wait_for_server(url))
        print(f"server: {args.workers} worker(s), {args.threads} torch thread(s) each {args.serve_flags}; clients "
              f"{args.phases}{', connected first' if args.connect_first else ''}")
        print("| clients | K | frames | lost | p50 ms | p99 ms | max ms | over 40 ms | p99 first second / after ms "
              "| server CPU (cores) | clients' CPU (cores) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        for samples in args.samples:
            for clients in args.clients:
                cpu0, t0, mine0 = cpu_seconds(server.pid), time.monotonic(), time.process_time()
                r = asyncio.run(asyncio.wait_for(load(url, clients, samples, args.seconds, args.phases == "spread",
                                                     args.connect_first), args.seconds + 60))
                took = time.monotonic() - t0
                cores, client_cores = (cpu_seconds(server.pid) - cpu0) / took, (time.process_time() - mine0) / took
                print(f"| {clients} | {samples} | {r['frames']} | {r['lost']} | {r['p50_ms']:.1f} | "
                      f"{r['p99_ms']:.1f} | {r['max_ms']:.1f} | {r['late_over_40ms']} | {r['p99_start_ms']:.1f} / "
                      f"{r['p99_after_ms']:.1f} | {cores:.2f} | {client_cores:.2f} |", flush=True)
        before = rss_mib(server.pid)
        asyncio.run(asyncio.wait_for(cycles(url, args.cycles), 600))
        print(f"\nserver memory: {before:.0f} MiB before {args.cycles} connect/disconnect cycles, "
              f"{rss_mib(server.pid):.0f} MiB after")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
