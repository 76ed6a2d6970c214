"""Live commands: `stream`, `serve`, `client`."""
from __future__ import annotations

import argparse

from facereact.cli.flags import (PERSONALITY_HELP, SAMPLING_FLAGS, add_sampling_flags, count_int, given_flags,
                                personality, positive_float, positive_int, sampling_from, say_sampling, time_spans)
from facereact.errors import UsageError


def _stream(args: argparse.Namespace) -> int:
    from facereact.export.files import is_export
    from facereact.generator.session import StreamingSession, compile_steps
    from facereact.generator.stream import replay
    from facereact.generator.model import load_generator

    if is_export(args.model):
        return _stream_export(args)
    generator, tokenizer = load_generator(args.model)
    wav2vec2 = None
    if args.wav2vec2:
        from facereact.data.wav2vec2 import Wav2Vec2Features

        wav2vec2 = Wav2Vec2Features(args.wav2vec2)
    compile_steps()
    session = StreamingSession(generator, tokenizer, args.samples, sampling_from(args, generator), args.seed,
                               read_emotion=args.read_emotion, wav2vec2=wav2vec2, wav2vec2_window=args.wav2vec2_window,
                               personality=args.personality)
    say_sampling(args, generator)
    report = replay(session, args.wav, args.face, realtime=not args.fast, frames=args.frames, speaking=args.speaking)
    print(report.text())
    return 0


def _stream_export(args: argparse.Namespace) -> int:
    from facereact.export.runtime import ExportedListener
    from facereact.generator.stream import replay

    if given_flags(args, SAMPLING_FLAGS) or args.wav2vec2:
        raise UsageError("an export's sampling and audio features are fixed in its graph: export again to change them")
    if args.personality is not None:
        raise UsageError("an export's listener is generic: it takes no --personality")
    listener = ExportedListener(args.model, args.seed)
    how = listener.interface["sampling"]
    print(f"onnxruntime: the export {args.model} (K = {listener.samples}, its own; guidance {how['guidance']:g} "
          f"ramped over {how['guidance_ramp']} frames, temperature {how['temperature']:g})", flush=True)
    report = replay(listener, args.wav, args.face, realtime=not args.fast, frames=args.frames, speaking=args.speaking)
    print(report.text())
    return 0


def _serve(args: argparse.Namespace) -> int:
    from facereact.live.server import is_loopback, token_from

    from facereact.live.livelink import parse_address

    try:
        if args.livelink:
            parse_address(args.livelink)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from facereact.export.files import is_export

    if is_export(args.model) and (given_flags(args, SAMPLING_FLAGS) or args.no_read_emotion):
        raise UsageError("an export's sampling and emotion reading are fixed in its graph: export again to change them")
    if args.vtube_studio and args.workers > 1:
        raise UsageError("--vtube-studio drives one avatar from one process: use it with --workers 1")
    if not is_loopback(args.host) and not token_from(args.token):
        raise UsageError(f"binding to {args.host} (not loopback) needs a token: --token or $FACEREACT_TOKEN")
    print(f"serving {args.model} on ws://{args.host}:{args.port} (K up to {args.samples}, "
          f"{args.max_sessions} conversations" + (f" per worker, {args.workers} workers" if args.workers > 1 else "") +
          (f", Live Link to {args.livelink}" if args.livelink else "") +
          (f", VTube Studio at {args.vtube_studio}" if args.vtube_studio else "") + "; Ctrl-C stops)", flush=True)
    if args.workers == 1:
        _serve_worker(None, 0, 1, args)
    else:
        from facereact.live.workers import run_workers

        run_workers(_serve_worker, args.host, args.port, args.workers, (args,))
    print("stopped")
    return 0


def _serve_worker(sock, index: int, workers: int, args: argparse.Namespace) -> None:
    """One server process: conversations get ids index, index + workers, ... (live/workers.py)."""
    import asyncio

    import torch

    from facereact.export.files import is_export, read_interface
    from facereact.generator.model import load_generator
    from facereact.live.livelink import LiveLinkEmitter, parse_address
    from facereact.live.server import Limits, ReactionServer, token_from

    # A tick is hundreds of small operations run one after another on the event loop's thread: a
    # second intra-op thread speeds none of them up, but its idle spinning takes the core the
    # sockets, the clients (and other programs on a robot) need.
    torch.set_num_threads(args.threads)
    export, generator, tokenizer = is_export(args.model), None, None
    samples = args.samples
    if export:
        k = read_interface(args.model)["samples"]
        samples = min(samples, k)
        if index == 0:
            print(f"onnxruntime: the export {args.model} (K = {k}; its sampling and emotion reading are its own; "
                  "each conversation stepped on its own, a few conversations at once)", flush=True)
    else:
        generator, tokenizer = load_generator(args.model)
        if index == 0:
            say_sampling(args, generator)
    emitters = [LiveLinkEmitter(*parse_address(args.livelink))] if args.livelink else []
    if args.vtube_studio:
        from facereact.live.vtube_studio import DEFAULT_TOKEN_FILE, VTubeStudioEmitter

        emitters.append(VTubeStudioEmitter(args.vtube_studio, args.vtube_studio_token or DEFAULT_TOKEN_FILE))
    emitter = None if not emitters else emitters[0] if len(emitters) == 1 else _fan_out(emitters)
    limits = Limits(sessions=args.max_sessions, samples=samples, gather_seconds=args.gather_ms / 1000,
                    reserve=args.reserve)
    server = ReactionServer(generator, tokenizer, None if export else sampling_from(args, generator),
                            read_emotion=not args.no_read_emotion, limits=limits, token=token_from(args.token),
                            on_frame=emitter, ids=(index, workers), export=args.model if export else None)
    asyncio.run(server.run(args.host, args.port, sock=sock))


def _fan_out(emitters: list):
    """One on_frame callback calling each of several."""
    def on_frame(*frame) -> None:
        for emit in emitters:
            emit(*frame)
    return on_frame


def _client(args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import json

    from facereact.data.audio import read_wav
    from facereact.generator.stream import load_face_track
    from facereact.generator.turns import speaking_frames
    from facereact.layout import FPS
    from facereact.live.client import stream_reconnecting
    from facereact.live.server import token_from

    samples, rate = read_wav(args.wav)
    faces = load_face_track(args.face) if args.face else None
    if faces is not None:
        faces = [dict(f) if isinstance(f, dict) else f for f in faces]
    speaking = None if args.speaking is None else speaking_frames(args.speaking, len(samples) * FPS // rate, FPS)
    # Each frame as it comes, one JSON line: an interrupted session keeps every frame before it.
    with open(args.out, "w") if args.out else contextlib.nullcontext() as out:
        def record(frame: dict) -> None:
            out.write(json.dumps(frame) + "\n")
            out.flush()

        run = asyncio.run(stream_reconnecting(args.url, samples, rate, faces, args.samples, args.seed,
                                              token_from(args.token), realtime=not args.fast, frames=args.frames,
                                              on_frame=record if out else None, reconnect=args.reconnect,
                                              say=lambda line: print(line, flush=True), speaking=speaking,
                                              personality=args.personality))
    figures = run.latency.summary()
    conversations = f" over {len(run.endings) + 1} conversations" if run.endings else ""
    print(f"{figures['frames']} listener frames back{conversations}, {figures['lost']} lost" +
          (f"; round trip p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, max "
           f"{figures['max_ms']:.1f} ms, {figures['late_over_40ms']} over 40 ms" if figures["frames"] else ""))
    return 0 if figures["frames"] and not figures["lost"] else 1


def register(verbs) -> dict:
    """Add these commands to the parser's verbs; returns the commands whose --out is checked
    for writing before any work (True: a folder)."""
    p = verbs.add_parser("stream", help="replay a recording through the live session, print latency")
    p.add_argument("--model", required=True, help="an online generator folder, or an export (facereact export), "
                                                  "run on onnxruntime")
    p.add_argument("--wav", required=True)
    p.add_argument("--face", default=None,
                   help="speaker face track: (T, 58) .npy, or .csv of ARKit blendshape names + pitch, yaw, roll "
                        "[+ tx, ty, tz]; without it the speaker is heard with audio alone")
    p.add_argument("--read-emotion", action="store_true",
                   help="read the speaker's emotion off the face (the tokenizer's reader) instead of leaving it absent")
    p.add_argument("--frames", type=positive_int, default=None, help="stop after this many frames")
    p.add_argument("--fast", action="store_true", help="do not wait for real time between frames")
    p.add_argument("--speaking", type=time_spans, default=None, metavar="S-E,...",
                   help="seconds where the listener itself speaks (e.g. 4-7.5,12-15): no backchannels then")
    p.add_argument("--personality", type=personality, default=None, metavar="E,A,C,N,O", help=PERSONALITY_HELP)
    p.add_argument("--wav2vec2", default=None, metavar="DIR",
                   help="a generator trained on MARS hears wav2vec2 features: a local checkpoint folder "
                        "(config.json, model.safetensors) to compute them from; nothing is downloaded")
    p.add_argument("--wav2vec2-window", type=float, default=1.0,
                   help="seconds of past audio each live wav2vec2 feature is computed from (default 1)")
    add_sampling_flags(p)
    p.set_defaults(func=_stream)

    p = verbs.add_parser("serve", help="live listener reactions over WebSockets (docs/live.md)")
    p.add_argument("--model", required=True, help="an online generator folder, or an export (facereact export), "
                                                  "served on onnxruntime")
    p.add_argument("--host", default="127.0.0.1", help="default loopback; any other address needs a token")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token", default=None, help="shared secret clients must present (or $FACEREACT_TOKEN)")
    p.add_argument("--max-sessions", type=positive_int, default=64)
    p.add_argument("--livelink", default=None, metavar="HOST:PORT",
                   help="also send each listener frame as Unreal Live Link Face UDP packets (port 11111 in Unreal)")
    p.add_argument("--vtube-studio", default=None, metavar="URL",
                   help="also drive a VTube Studio avatar through its plugin API (ws://127.0.0.1:8001): the first "
                        "conversation's listener; the first run asks VTube Studio to allow the plugin")
    p.add_argument("--vtube-studio-token", default=None, metavar="FILE",
                   help="where the plugin's VTube Studio token is kept (default ~/.config/facereact/vtube-studio.token)")
    p.add_argument("--no-read-emotion", action="store_true",
                   help="leave the speaker's emotion absent instead of reading it off a client's face")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="torch threads for the batched forward (default 1: its operations are too small to "
                        "share, and an idle second thread spins on a core the sockets need)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="server processes sharing the port, one per core to give (limits apply per worker)")
    p.add_argument("--reserve", type=positive_int, default=4,
                   help="conversation slots a batch starts with, built at start for --samples' K (default 4; "
                        "it doubles when full, a copy of everyone's state): give the robots you expect at once "
                        "(1.6 MB a slot at K = 1)")
    p.add_argument("--gather-ms", type=positive_float, default=8.0,
                   help="how long a tick waits, after its first frame, for other conversations' frames "
                        "(default 8; longer: fewer, larger ticks)")
    add_sampling_flags(p)
    p.set_defaults(func=_serve, samples=10)

    p = verbs.add_parser("client", help="stream a recording to a server in real time; print the latency")
    p.add_argument("--wav", required=True)
    p.add_argument("--face", default=None, help="speaker face track: (T, 58) .npy or a tracker .csv")
    p.add_argument("--url", default="ws://127.0.0.1:8765")
    p.add_argument("--token", default=None, help="the server's token (or $FACEREACT_TOKEN)")
    p.add_argument("--samples", type=positive_int, default=1, help="reactions to ask for (K)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=positive_int, default=None, help="stop after this many frames")
    p.add_argument("--fast", action="store_true", help="send as fast as the server allows, not in real time")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="record every listener frame received, one JSON line each as the protocol sends it")
    p.add_argument("--speaking", type=time_spans, default=None, metavar="S-E,...",
                   help="seconds of the recording where the listener itself speaks (e.g. 4-7.5,12-15): "
                        "no backchannels then, its face held")
    p.add_argument("--personality", type=personality, default=None, metavar="E,A,C,N,O", help=PERSONALITY_HELP)
    p.add_argument("--reconnect", type=count_int, default=0, metavar="N",
                   help="when the server restarts, is lost or is full, start a new conversation, up to N tries in a "
                        "row, waiting 0.5 s, 1 s, 2 s, ... (at most 8 s) between, going on from the first frame "
                        "not answered")
    p.set_defaults(func=_client)
    return {_client: False}
