"""The `facereact` command: a thin layer over library functions."""
from __future__ import annotations

import argparse
import math
import sys
import traceback
from dataclasses import replace
from pathlib import Path

from facereact.errors import DataError, UsageError
from facereact.io import check_writable


def _synth(args: argparse.Namespace) -> int:
    if args.layout == "mars":
        from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars

        if args.channels is not None or args.persona_shift is not None:
            raise UsageError("--channels and --persona-shift are for --layout react2024")
        config = MarsSynthConfig(**_given(args, ("sessions", "clips", "min_frames", "frames", "sample_rate", "seed"),
                                          {"clips": "clips_per_session", "frames": "max_frames"}), world=_world(args))
        synthesize_mars(args.out, config)
        print(f"wrote a MARS-layout corpus of {config.sessions} sessions to {args.out}")
        return 0
    from facereact.synth.writer import SynthConfig, synthesize_corpus

    if args.min_frames is not None:
        raise UsageError("--min-frames is for --layout mars: REACT 2024 clips all have --frames frames")
    config = SynthConfig(**_given(args, ("sessions", "clips", "frames", "sample_rate", "channels", "seed",
                                         "persona_shift"), {"clips": "clips_per_session"}), world=_world(args))
    synthesize_corpus(args.out, config)
    print(f"wrote {config.sessions * config.clips_per_session} clip pairs to {args.out}")
    return 0


def _world(args: argparse.Namespace):
    """The named world with the knobs given on the command line changed."""
    from facereact.synth.world import KNOBS, world_named

    return world_named(args.world, **{k: getattr(args, k) for k in KNOBS if getattr(args, k) is not None})


def _data_check(args: argparse.Namespace) -> int:
    from facereact.data.check import check_corpus

    report = check_corpus(args.root, progress=not args.quiet)
    print(report.text())
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
    from facereact.demo import run_demo

    run_demo(args.out, sessions=args.sessions, seed=args.seed, settings=tuple(args.settings))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from facereact.metrics import evaluate, evaluate_both
    from facereact.metrics.files import load_inputs, load_with_corpus

    if args.protocol == "react2025":
        return _evaluate_react2025(args)
    if (args.inputs is None) == (args.pred is None):
        raise DataError(None, "give either --inputs FILE.npz or PRED.npz with --data ROOT")
    if args.pred is not None:
        if args.data is None:
            raise DataError(args.pred, "predictions need --data ROOT (and --split) for the ground truth")
        arrays, source = load_with_corpus(args.pred, args.data, args.split), args.pred
    else:
        arrays, source = load_inputs(args.inputs), args.inputs
    progress = not args.quiet
    if args.mode == "both":
        result = evaluate_both(**arrays, progress=progress, source=source)
    else:
        result = evaluate(**arrays, mode=args.mode, progress=progress, source=source)
    if args.pred is None or args.no_behaviour:
        return _report(result, args.out)
    return _report_behaviour(result, args)


def _report_behaviour(result: dict, args: argparse.Namespace) -> int:
    """The REACT figures with the behaviour figures when the predictions carry faces: the table's row
    on stdout, every curve in --out too (metrics/behaviour.py)."""
    from facereact.metrics.behaviour import behaviour_row
    from facereact.metrics.behaviour_inputs import load_behaviour_truth
    from facereact.metrics.files import read_npz

    faces = read_npz(Path(args.pred)).get("pred_face")
    if faces is None:
        print(f"note: {args.pred} holds no 'pred_face': no behaviour figures", file=sys.stderr)
        return _report(result, args.out)
    truth = load_behaviour_truth(args.data, args.split, faces.shape[2])
    figures, row = truth.score(faces)
    result["behaviour"] = row
    result["behaviour_real"] = behaviour_row(truth.figures, truth.figures)
    shown = dict(result)
    result["behaviour_curves"] = {"generated": figures, "real listeners": truth.figures}
    return _report(result, args.out, shown=shown)


def _report(result: dict, out: str | None, shown: dict | None = None) -> int:
    """The figures as JSON on stdout (`shown`, when a shorter form is printed) and in `out`."""
    import json

    if out:
        from facereact.io import write_text_atomic

        write_text_atomic(out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result if shown is None else shown, indent=2))
    return 0


def _evaluate_react2025(args: argparse.Namespace) -> int:
    from facereact.data.mars import MarsCorpus, is_mars
    from facereact.metrics.files import read_npz
    from facereact.metrics.react2025 import evaluate_react2025

    if args.pred is None or args.data is None:
        raise DataError(None, "--protocol react2025 scores PRED.npz (one (K, T, 25) array per input clip name) "
                              "against --data ROOT, a MARS corpus")
    if not is_mars(args.data):
        raise DataError(args.data, "not a MARS corpus (REACT 2025/2026 layout): --protocol react2025 needs one")
    predictions = read_npz(Path(args.pred))
    result = evaluate_react2025(predictions, MarsCorpus(args.data, args.split), args.directions, args.seed,
                                progress=not args.quiet, source=args.pred)
    draws_left_out = {"targets": {k: v for k, v in result["targets"].items() if k != "draws"}}
    return _report(result, args.out, shown=result | draws_left_out)


def _given(args: argparse.Namespace, names: tuple[str, ...], rename: dict[str, str] | None = None) -> dict:
    """The flags among `names` the user set (None means: keep the library's default)."""
    rename = rename or {}
    return {rename.get(k, k): getattr(args, k) for k in names if getattr(args, k, None) is not None}


def _schedule(args: argparse.Namespace, default):
    """The trainer's settings: the library's defaults for this model, overridden by the flags given."""
    return replace(default, **_given(args, ("epochs", "batch_size", "lr", "warmup", "seed", "device",
                                            "keep_checkpoints"),
                                     {"warmup": "warmup_steps"}))


def _tokenizer_config(args: argparse.Namespace):
    from facereact.tokenizer.model import TokenizerConfig

    base = TokenizerConfig.authors() if args.size == "authors" else TokenizerConfig()
    overrides = _given(args, ("width", "layers", "heads", "context", "quantizer", "codebook_size"))
    if getattr(args, "levels", None):
        overrides["levels"] = tuple(args.levels)
    return replace(base, **overrides)


def _tokenizer_loss(args: argparse.Namespace):
    from facereact.tokenizer.training import TokenizerLoss

    return TokenizerLoss(**_given(args, ("window", "squared_weight", "emotion_squared_weight", "usage_weight",
                                         "clip_starts", "motion_weight")))


def _train_tokenizer(args: argparse.Namespace) -> int:
    from facereact.tokenizer.training import SCHEDULE, train_tokenizer

    train_tokenizer(args.data, args.out, _tokenizer_config(args), _schedule(args, SCHEDULE), _tokenizer_loss(args),
                    resume=args.resume, max_steps=args.max_steps)
    print(f"tokenizer written to {args.out}")
    return 0


def _tokenize(args: argparse.Namespace) -> int:
    from facereact.tokenizer.model import FaceTokenizer
    from facereact.tokenizer.tokenize import tokenize_split

    n = tokenize_split(FaceTokenizer.load(args.model), args.data, args.split, args.out)
    print(f"wrote tokens of {n} clips to {args.out}/{args.split}")
    return 0


def _bench_tokenizers(args: argparse.Namespace) -> int:
    from facereact.tokenizer.bench import bench_tokenizers
    from facereact.tokenizer.training import SCHEDULE

    print(bench_tokenizers(args.data, args.out, _tokenizer_config(args), _schedule(args, SCHEDULE),
                           _tokenizer_loss(args)))
    return 0


def _train_reader(args: argparse.Namespace) -> int:
    from facereact.tokenizer.training import READER_SCHEDULE, train_reader

    train_reader(args.data, args.tokenizer, args.out, _schedule(args, READER_SCHEDULE), _tokenizer_loss(args),
                 resume=args.resume, max_steps=args.max_steps)
    print(f"tokenizer with a new emotion reader written to {args.out}")
    return 0


def _train_generator(args: argparse.Namespace) -> int:
    from facereact.generator.model import GeneratorConfig
    from facereact.generator.training import SCHEDULE, GeneratorTraining, train_generator

    base = GeneratorConfig.authors() if args.size == "authors" else GeneratorConfig()
    config = replace(base, offline=args.offline, **_given(args, ("width", "layers", "heads", "context", "future")))
    if args.aux_motion_weight == 0:  # no motion head at all, as before it existed
        config = replace(config, aux_motion=False)
    settings = GeneratorTraining(**_given(args, ("window", "listener_dropout", "speaker_dropout",
                                                 "aux_emotion_weight", "aux_motion_weight", "onset_weight")))
    train_generator(args.data, args.tokenizer, args.out, config, _schedule(args, SCHEDULE), settings,
                    resume=args.resume, max_steps=args.max_steps)
    print(f"generator written to {args.out}")
    if args.max_steps is not None:
        print("stopped at --max-steps: the sampling is chosen when a run ends (or: facereact choose-sampling)")
    elif not args.no_choose_sampling:
        _choose(args.out, args.data, "val", args.seed or 0)
    return 0


def _choose(model: str, data: str, split: str, seed: int) -> None:
    """The generator picks its sampling on `split` and keeps it (generator/choose.py)."""
    from facereact.data.mars import is_mars
    from facereact.generator.choose import choose_sampling

    if is_mars(data):
        print("the sampling is chosen on REACT 2024-layout corpora only: this MARS generator keeps the house one")
        return
    print(f"choosing the sampling on {split} (the rule: generator/choose.py)")
    choice = choose_sampling(model, data, split, seed)
    print(choice.table())
    print(f"chosen: guidance {choice.sampling.guidance:g}, temperature {choice.sampling.temperature:g} "
          f"({choice.seconds:.0f} s), saved in {Path(model) / 'config.json'}")


def _choose_sampling(args: argparse.Namespace) -> int:
    _choose(args.model, args.data, args.split, args.seed)
    return 0


def _train_distill(args: argparse.Namespace) -> int:
    from facereact.generator.distill import SCHEDULE, SETTINGS, distill_generator

    settings = replace(SETTINGS, **_given(args, ("window",)))
    distill_generator(args.teacher, args.data, args.out, args.guidance, _schedule(args, SCHEDULE), settings,
                      resume=args.resume, max_steps=args.max_steps, layers=args.layers)
    print(f"distilled generator written to {args.out}")
    return 0


SAMPLING_FLAGS = ("temperature", "top_k", "top_p", "guidance", "guidance_ramp")


def _sampling(args: argparse.Namespace, generator):
    """The sampling flags over the generator's own sampling (chosen on its validation split, else
    its setting's recommendation); None when no flag is given (the generator then uses its own)."""
    from facereact.generator.sampling import own_sampling

    given = _given(args, SAMPLING_FLAGS)
    return own_sampling(generator, given) if given else None


def _say_sampling(args: argparse.Namespace, generator) -> None:
    """One line: how this generator will sample, and why (a live user sees what the model chose)."""
    from facereact.generator.sampling import own_sampling

    how = own_sampling(generator, _given(args, SAMPLING_FLAGS))
    why = ("chosen on its validation split" if generator.chosen_sampling is not None else "the house's") + \
        (", changed by your flags" if _given(args, SAMPLING_FLAGS) else "")
    print(f"sampling: guidance {how.guidance:g} (ramped over {how.guidance_ramp} frames), temperature "
          f"{how.temperature:g} ({why})", flush=True)


def _generate(args: argparse.Namespace) -> int:
    import numpy as np

    from facereact.data.mars import is_mars
    from facereact.generator.generate import generate_mars, generate_split
    from facereact.generator.model import load_generator
    from facereact.io import save_npz_atomic
    from facereact.model_files import folder_fingerprint

    generator, tokenizer = load_generator(args.model)
    if is_mars(args.data):  # one (K, T, 25) array per input clip, for evaluate --protocol react2025
        reactions = generate_mars(generator, tokenizer, args.data, args.split, args.samples,
                                  _sampling(args, generator), args.seed, inputs=args.inputs)
        save_npz_atomic(args.out, reactions)
        print(f"wrote {args.out}: {len(reactions)} input clips, K = {args.samples}, each as long as its input")
        return 0
    arrays = generate_split(generator, tokenizer, args.data, args.split, args.samples,
                            _sampling(args, generator), args.seed,
                            inputs=args.inputs)
    model = f"{args.model} {folder_fingerprint(args.model)[:16]}"
    save_npz_atomic(args.out, {**arrays, "model": np.array(model)})
    print(f"wrote {args.out}: pred {arrays['pred'].shape}, pred_face {arrays['pred_face'].shape}")
    return 0


def _stream(args: argparse.Namespace) -> int:
    from facereact.generator.session import StreamingSession, compile_steps
    from facereact.generator.stream import replay
    from facereact.generator.model import load_generator

    generator, tokenizer = load_generator(args.model)
    wav2vec2 = None
    if args.wav2vec2:
        from facereact.data.wav2vec2 import Wav2Vec2Features

        wav2vec2 = Wav2Vec2Features(args.wav2vec2)
    compile_steps()
    session = StreamingSession(generator, tokenizer, args.samples, _sampling(args, generator), args.seed,
                               read_emotion=args.read_emotion, wav2vec2=wav2vec2, wav2vec2_window=args.wav2vec2_window)
    _say_sampling(args, generator)
    report = replay(session, args.wav, args.face, realtime=not args.fast, frames=args.frames)
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
    if not is_loopback(args.host) and not token_from(args.token):
        raise UsageError(f"binding to {args.host} (not loopback) needs a token: --token or $FACEREACT_TOKEN")
    print(f"serving {args.model} on ws://{args.host}:{args.port} (K up to {args.samples}, "
          f"{args.max_sessions} conversations" + (f" per worker, {args.workers} workers" if args.workers > 1 else "") +
          (f", Live Link to {args.livelink}" if args.livelink else "") + "; Ctrl-C stops)", flush=True)
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

    from facereact.generator.model import load_generator
    from facereact.live.livelink import LiveLinkEmitter, parse_address
    from facereact.live.server import Limits, ReactionServer, token_from

    # A tick is hundreds of small operations run one after another on the event loop's thread: a
    # second intra-op thread speeds none of them up, but its idle spinning takes the core the
    # sockets, the clients (and other programs on a robot) need.
    torch.set_num_threads(args.threads)
    generator, tokenizer = load_generator(args.model)
    if index == 0:
        _say_sampling(args, generator)
    emitter = LiveLinkEmitter(*parse_address(args.livelink)) if args.livelink else None
    limits = Limits(sessions=args.max_sessions, samples=args.samples, gather_seconds=args.gather_ms / 1000,
                    reserve=args.reserve)
    server = ReactionServer(generator, tokenizer, _sampling(args, generator),
                            read_emotion=not args.no_read_emotion, limits=limits, token=token_from(args.token),
                            on_frame=emitter, ids=(index, workers))
    asyncio.run(server.run(args.host, args.port, sock=sock))


def _client(args: argparse.Namespace) -> int:
    import asyncio

    from facereact.data.audio import read_wav
    from facereact.generator.stream import load_face_track
    from facereact.live.client import stream_recording
    from facereact.live.server import token_from

    samples, rate = read_wav(args.wav)
    faces = load_face_track(args.face) if args.face else None
    if faces is not None:
        faces = [dict(f) if isinstance(f, dict) else f for f in faces]
    received, latency = asyncio.run(stream_recording(args.url, samples, rate, faces, args.samples, args.seed,
                                                     token_from(args.token), realtime=not args.fast,
                                                     frames=args.frames))
    figures = latency.summary()
    print(f"{figures['frames']} listener frames back, {figures['lost']} lost" +
          (f"; round trip p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, max "
           f"{figures['max_ms']:.1f} ms, {figures['late_over_40ms']} over 40 ms" if figures["frames"] else ""))
    return 0 if figures["frames"] and not figures["lost"] else 1


def _train_baseline(args: argparse.Namespace) -> int:
    from facereact.baselines.belfusion import BeLFusionConfig
    from facereact.baselines.trans_vae import TransVAEConfig
    from facereact.baselines.training import SCHEDULE, train_belfusion, train_trans_vae

    if args.baseline == "trans-vae":
        config = TransVAEConfig(online=args.online, **_given(args, ("width", "heads", "context", "window")))
        train_trans_vae(args.data, args.out, config, _schedule(args, SCHEDULE), resume=args.resume,
                        max_steps=args.max_steps)
    else:
        config = BeLFusionConfig(online=args.online, binarize_aus=args.binarize_aus)
        train_belfusion(args.data, args.out, config, _schedule(args, SCHEDULE), resume=args.resume,
                        max_steps=args.max_steps)
    print(f"{args.baseline} written to {args.out}")
    return 0


def _render(args: argparse.Namespace) -> int:
    from facereact.viz.face import FaceStyle
    from facereact.viz.render import render_clip, render_files, render_predictions

    style = FaceStyle(size=args.size, pose_gain=args.pose_gain)
    if args.face:
        written = render_files(args.face, args.out, args.audio, style)
    elif args.data:
        written = render_clip(args.data, args.split, args.clip, args.out, args.pred, args.samples, style,
                              with_audio=not args.no_audio)
    elif args.pred:
        written = render_predictions(args.pred, args.clip, args.out, args.samples, style)
    else:
        raise UsageError("render: give --face FILE.npy ..., --data ROOT [--pred PRED.npz], or --pred PRED.npz")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    if args.protocol == "react2025":
        from facereact.benchmark_react2025 import benchmark_react2025

        _, table = benchmark_react2025(args.data, args.out, args.split, args.directions, args.samples, args.seed,
                                       model_dirs=args.models)
        print(table)
        print(f"written to {args.out}/results.md, .csv, .json and targets.json")
        return 0
    from facereact.benchmark import benchmark

    # The flags given change each generator's own recommendation (online and offline differ).
    _, table = benchmark(args.data, args.out, args.models, args.split, args.samples, args.seed,
                         sampling=_given(args, SAMPLING_FLAGS), inputs=args.inputs,
                         with_behaviour=not args.no_behaviour)
    print(table)
    print(f"written to {args.out}/results.md, .csv, .json" + ("" if args.no_behaviour else
          ", behaviour.md, .csv, .json and behaviour_curves.json"))
    return 0


def _add_protocol_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protocol", default="react2024", choices=("react2024", "react2025"),
                   help="react2025: a MARS corpus, targets drawn from each input's session, clips of any length")
    p.add_argument("--directions", default="both", choices=("both", "speaker"),
                   help="react2025: every clip as an input (2025) or speaker clips only (2026)")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _add_sampling_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--samples", type=_positive_int, default=10, help="parallel reactions (K)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=_positive_float, default=None,
                   help="default: the recommended sampling's (0.9)")
    p.add_argument("--top-k", type=_positive_int, default=None)
    p.add_argument("--top-p", type=_positive_float, default=None)
    p.add_argument("--guidance", type=_finite_float, default=None,
                   help="classifier-free guidance toward the speaker (1: none; costs a second listener pass; "
                        "default: the recommended sampling's, 4 for an online generator, 3 for an offline one)")
    p.add_argument("--guidance-ramp", type=_count, default=None, metavar="FRAMES",
                   help="frames over which guidance rises from 1 at a conversation's start (0: none; "
                        "default: the recommended sampling's)")


def _add_schedule_flags(p: argparse.ArgumentParser, defaults) -> None:
    """The trainer's flags, shown with this model's library defaults (TrainConfig `defaults`)."""
    p.add_argument("--data", required=True, help="corpus root")
    p.add_argument("--epochs", type=_positive_int, default=None, help=f"default {defaults.epochs}")
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help=f"global batch, split over torchrun processes (default {defaults.batch_size})")
    p.add_argument("--lr", type=_positive_float, default=None, help=f"default {defaults.lr:g}")
    p.add_argument("--warmup", type=int, default=None, help=f"warm-up steps (default {defaults.warmup_steps})")
    p.add_argument("--seed", type=int, default=None, help=f"default {defaults.seed}")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda when available")
    p.add_argument("--keep-checkpoints", type=_positive_int, default=None,
                   help=f"checkpoints kept, the newest (default {defaults.keep_checkpoints}; one is written "
                        "every epoch: keep them all to pick one afterwards, benchmarks/select_checkpoint.py)")


def _add_training_flags(p: argparse.ArgumentParser, defaults) -> None:
    """A training command's flags: the schedule's, and where to write and how to resume."""
    _add_schedule_flags(p, defaults)
    p.add_argument("--out", required=True, help="model folder")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--max-steps", type=_positive_int, default=None, help="stop after this many steps (resume later)")


def _add_size_flags(p: argparse.ArgumentParser, names: tuple[str, ...], authors: bool = True) -> None:
    if authors:
        p.add_argument("--size", choices=("small", "authors"), default="small",
                       help="small trains in minutes on a CPU; authors is the published size (GPU)")
    for flag in names:
        p.add_argument(f"--{flag}", type=_positive_int, default=None, help="default: the model config's")


def _add_tokenizer_flags(p: argparse.ArgumentParser, quantizer: bool = True) -> None:
    _add_size_flags(p, ("width", "layers", "heads", "context", "window"))
    if quantizer:
        p.add_argument("--quantizer", choices=("fsq", "vq", "lfq"), default=None, help="default fsq")
        p.add_argument("--levels", type=_positive_int, nargs="+", default=None, help="FSQ levels (default 5 x 8)")
        p.add_argument("--codebook-size", type=_positive_int, default=None, help="VQ/LFQ vocabulary")
    p.add_argument("--usage-weight", type=_finite_float, default=None, help="FSQ codebook-entropy weight (default 0)")
    p.add_argument("--squared-weight", type=_finite_float, default=None,
                   help="weight of the squared-error term beside the grouped L1 (default 1)")
    p.add_argument("--motion-weight", type=_finite_float, default=None,
                   help="weight of the L1 on the face's frame-to-frame changes, which keeps nods (default 1)")
    _add_reader_flags(p)


def _add_reader_flags(p: argparse.ArgumentParser) -> None:
    """How the tokenizer's face-to-emotion reader learns (`train tokenizer` and `train reader`)."""
    p.add_argument("--emotion-squared-weight", type=_finite_float, default=None,
                   help="weight of a squared error on the emotion beside its L1 (default 4)")
    p.add_argument("--clip-starts", type=_finite_float, default=None,
                   help="share of the emotion reader's windows taken at a clip's first frame (default 0.25)")


def build_parser() -> argparse.ArgumentParser:
    from facereact.generator.inputs import INPUT_SETS
    from facereact.synth.world import KNOBS, WORLDS

    parser = argparse.ArgumentParser(prog="facereact", description="Listener facial reaction generation (REACT).")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("synth", help="write a synthetic dyadic corpus in the REACT layout")
    p.add_argument("out")
    p.add_argument("--layout", default="react2024", choices=("react2024", "mars"),
                   help="react2024 (NoXi/RECOLA, 25 fps) or mars (REACT 2025/2026: sessions, 30 fps, any length)")
    p.add_argument("--sessions", type=int, default=None, help="default 12 (mars: 4 prompts)")
    p.add_argument("--clips", type=int, default=None, help="clips per session (default 4; mars: 3 train clips)")
    p.add_argument("--frames", type=int, default=None, help="clip length (default 751; mars: the longest, 600)")
    p.add_argument("--min-frames", type=int, default=None, help="mars: the shortest clip (default 150)")
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--channels", type=int, choices=(1, 2), default=None, help="react2024: 1 or 2 (default 1)")
    p.add_argument("--persona-shift", type=float, default=None,
                   help="react2024: move every persona trait's range by this share of its width (default 0), "
                        "for a second corpus of other people")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--world", default="demo", choices=tuple(WORLDS),
                   help="how its people react and speak and how they are tracked (docs/data.md, 'Worlds'); "
                        "each knob below changes one thing of it")
    for knob, meaning in KNOBS.items():
        p.add_argument("--" + knob.replace("_", "-"), type=_finite_float, default=None, help=meaning)
    p.set_defaults(func=_synth)

    p = verbs.add_parser("data", help="corpus tools")
    data_verbs = p.add_subparsers(dest="data_verb", required=True, metavar="ACTION")
    c = data_verbs.add_parser("check", help="validate a corpus and print a summary")
    c.add_argument("root")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    c.set_defaults(func=_data_check)

    p = verbs.add_parser("evaluate", help="the REACT metrics of generated reactions")
    p.add_argument("pred", nargs="?", help="predictions .npz holding 'pred' (N, K, T, 25); needs --data")
    p.add_argument("--inputs", help=".npz holding pred, listener_gt, speaker_gt, neighbour")
    p.add_argument("--data", help="corpus root for the ground truth and neighbours")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--mode", default="official", choices=("official", "corrected", "both"))
    _add_protocol_flags(p)
    p.add_argument("--seed", type=int, default=2025, help="react2025: the target draw's seed")
    p.add_argument("--no-behaviour", action="store_true",
                   help="skip the behaviour figures (computed when PRED.npz holds 'pred_face')")
    p.add_argument("--out", help="write the figures as JSON here too (with the behaviour curves)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_evaluate)

    p = verbs.add_parser("train", help="train a model")
    train_verbs = p.add_subparsers(dest="model_kind", required=True, metavar="MODEL")
    from facereact.train.schedules import BASELINES as BASELINE_SCHEDULE
    from facereact.train.schedules import DISTILL as DISTILL_SCHEDULE
    from facereact.train.schedules import GENERATOR as GENERATOR_SCHEDULE
    from facereact.train.schedules import READER as READER_SCHEDULE
    from facereact.train.schedules import TOKENIZER as TOKENIZER_SCHEDULE

    t = train_verbs.add_parser("tokenizer", help="the face tokenizer (FSQ, or VQ/LFQ to compare)")
    _add_training_flags(t, TOKENIZER_SCHEDULE)
    _add_tokenizer_flags(t)
    t.set_defaults(func=_train_tokenizer)

    r = train_verbs.add_parser("reader", help="a new face-to-emotion reader for a trained tokenizer (its tokens, and "
                                              "the generators on them, unchanged)")
    _add_training_flags(r, READER_SCHEDULE)
    r.add_argument("--tokenizer", required=True, help="trained tokenizer folder (or a generator's tokenizer copy)")
    r.add_argument("--window", type=_positive_int, default=None, help="training window in frames (default 64)")
    _add_reader_flags(r)
    r.set_defaults(func=_train_reader)

    g = train_verbs.add_parser("generator", help="the cross-modal reaction generator (tokenizer frozen)")
    _add_training_flags(g, GENERATOR_SCHEDULE)
    _add_size_flags(g, ("width", "layers", "heads", "context", "window"))
    g.add_argument("--tokenizer", required=True, help="trained tokenizer folder")
    g.add_argument("--offline", action="store_true", help="see the whole speaker clip (default: online)")
    g.add_argument("--future", type=_positive_int, default=None,
                   help="offline: speaker frames ahead each listener frame sees (default 100)")
    g.add_argument("--listener-dropout", type=_finite_float, default=None,
                   help="share of the listener's past tokens masked in training (default 0.3)")
    g.add_argument("--speaker-dropout", type=_finite_float, default=None,
                   help="share of windows trained without the speaker (the guidance model; default 0.1)")
    g.add_argument("--aux-emotion-weight", type=_finite_float, default=None,
                   help="weight of the speaker stream's guess of the listener's emotion (default 1)")
    g.add_argument("--aux-motion-weight", type=_finite_float, default=None,
                   help="weight of its guess of whether each listener face region moves (default 1; 0: no motion head)")
    g.add_argument("--onset-weight", type=_finite_float, default=None,
                   help="extra token-loss weight where the listener's emotion changes (default 0: off)")
    g.add_argument("--no-choose-sampling", action="store_true",
                   help="keep the house sampling instead of choosing it on the validation split after training")
    g.set_defaults(func=_train_generator)

    d = train_verbs.add_parser("distill", help="an online generator that samples its teacher's guided reactions "
                                               "in one pass (guidance distilled into the weights)")
    _add_training_flags(d, DISTILL_SCHEDULE)
    d.add_argument("--teacher", required=True, help="trained online generator folder")
    d.add_argument("--window", type=_positive_int, default=None, help="training window in frames (default 128)")
    d.add_argument("--guidance", type=_finite_float, default=None,
                   help="the teacher's guidance to distil (default: the online recommended, 4)")
    d.add_argument("--layers", type=_positive_int, default=None,
                   help="a shallower student (default: the teacher's layers): less work a live frame")
    d.set_defaults(func=_train_distill)

    for name, help_text in (("trans-vae", "the Trans-VAE baseline (offline, or --online)"),
                            ("belfusion", "the BeLFusion baseline (behaviour VAE + latent DDIM, best-of-10)")):
        b = train_verbs.add_parser(name, help=help_text)
        _add_training_flags(b, BASELINE_SCHEDULE)
        b.add_argument("--online", action="store_true", help="condition only on the speaker's past")
        if name == "belfusion":
            b.add_argument("--binarize-aus", action="store_true", help="threshold the AU columns at 0.5")
        else:
            _add_size_flags(b, ("width", "heads", "context", "window"), authors=False)
        b.set_defaults(func=_train_baseline, baseline=name)

    p = verbs.add_parser("generate", help="K reactions per speaker clip of a split, as PRED.npz")
    p.add_argument("--model", required=True, help="generator folder")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--out", required=True)
    _add_sampling_flags(p)
    p.add_argument("--inputs", default="full", choices=INPUT_SETS,
                   help="what the speaker stream hears: full (audio, face, emotion), audio+face, "
                        "audio+face+read (emotion read off the face) or audio")
    p.set_defaults(func=_generate)

    p = verbs.add_parser("stream", help="replay a recording through the live session, print latency")
    p.add_argument("--model", required=True)
    p.add_argument("--wav", required=True)
    p.add_argument("--face", default=None,
                   help="speaker face track: (T, 58) .npy, or .csv of ARKit blendshape names + pitch, yaw, roll "
                        "[+ tx, ty, tz]; without it the speaker is heard with audio alone")
    p.add_argument("--read-emotion", action="store_true",
                   help="read the speaker's emotion off the face (the tokenizer's reader) instead of leaving it absent")
    p.add_argument("--frames", type=_positive_int, default=None, help="stop after this many frames")
    p.add_argument("--fast", action="store_true", help="do not wait for real time between frames")
    p.add_argument("--wav2vec2", default=None, metavar="DIR",
                   help="a generator trained on MARS hears wav2vec2 features: a local checkpoint folder "
                        "(config.json, model.safetensors) to compute them from; nothing is downloaded")
    p.add_argument("--wav2vec2-window", type=float, default=1.0,
                   help="seconds of past audio each live wav2vec2 feature is computed from (default 1)")
    _add_sampling_flags(p)
    p.set_defaults(func=_stream)

    p = verbs.add_parser("serve", help="live listener reactions over WebSockets (docs/live.md)")
    p.add_argument("--model", required=True, help="an online generator folder")
    p.add_argument("--host", default="127.0.0.1", help="default loopback; any other address needs a token")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--token", default=None, help="shared secret clients must present (or $FACEREACT_TOKEN)")
    p.add_argument("--max-sessions", type=_positive_int, default=64)
    p.add_argument("--livelink", default=None, metavar="HOST:PORT",
                   help="also send each listener frame as Unreal Live Link Face UDP packets (port 11111 in Unreal)")
    p.add_argument("--no-read-emotion", action="store_true",
                   help="leave the speaker's emotion absent instead of reading it off a client's face")
    p.add_argument("--threads", type=_positive_int, default=1,
                   help="torch threads for the batched forward (default 1: its operations are too small to "
                        "share, and an idle second thread spins on a core the sockets need)")
    p.add_argument("--workers", type=_positive_int, default=1,
                   help="server processes sharing the port, one per core to give (limits apply per worker)")
    p.add_argument("--reserve", type=_positive_int, default=4,
                   help="conversation slots a batch starts with, built at start for --samples' K (default 4; "
                        "it doubles when full, a copy of everyone's state): give the robots you expect at once "
                        "(1.6 MB a slot at K = 1)")
    p.add_argument("--gather-ms", type=_positive_float, default=8.0,
                   help="how long a tick waits, after its first frame, for other conversations' frames "
                        "(default 8; longer: fewer, larger ticks)")
    _add_sampling_flags(p)
    p.set_defaults(func=_serve, samples=10)

    p = verbs.add_parser("client", help="stream a recording to a server in real time; print the latency")
    p.add_argument("--wav", required=True)
    p.add_argument("--face", default=None, help="speaker face track: (T, 58) .npy or a tracker .csv")
    p.add_argument("--url", default="ws://127.0.0.1:8765")
    p.add_argument("--token", default=None, help="the server's token (or $FACEREACT_TOKEN)")
    p.add_argument("--samples", type=_positive_int, default=1, help="reactions to ask for (K)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--frames", type=_positive_int, default=None, help="stop after this many frames")
    p.add_argument("--fast", action="store_true", help="send as fast as the server allows, not in real time")
    p.set_defaults(func=_client)

    p = verbs.add_parser("benchmark", help="every system on one split, one comparison table")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--models", nargs="*", default=[], help="trained generator folders to include")
    p.add_argument("--inputs", nargs="+", default=["full"], choices=INPUT_SETS,
                   help="what each generator's speaker stream hears, one row per set (default: full)")
    p.add_argument("--out", default="results/benchmark")
    p.add_argument("--no-behaviour", action="store_true", help="skip the behaviour table (REACT 2024 layout)")
    _add_protocol_flags(p)
    _add_sampling_flags(p)
    p.set_defaults(func=_benchmark)

    p = verbs.add_parser("choose-sampling", help="a trained generator picks its guidance and temperature on a "
                                                 "split and keeps them in its config (generator/choose.py)")
    p.add_argument("--model", required=True, help="trained generator folder")
    p.add_argument("--data", required=True, help="its corpus (REACT 2024 layout)")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_choose_sampling)

    p = verbs.add_parser("tokenize", help="write token files for the clips of a split")
    p.add_argument("--model", required=True, help="tokenizer folder")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--out", required=True)
    p.set_defaults(func=_tokenize)

    p = verbs.add_parser("bench", help="comparisons")
    bench_verbs = p.add_subparsers(dest="bench_kind", required=True, metavar="WHAT")
    b = bench_verbs.add_parser("tokenizers", help="FSQ vs VQ vs LFQ at a matched vocabulary")
    _add_schedule_flags(b, TOKENIZER_SCHEDULE)
    _add_tokenizer_flags(b, quantizer=False)
    b.add_argument("--out", default="results/tokenizers")
    b.set_defaults(func=_bench_tokenizers)

    p = verbs.add_parser("render", help="animated faces (GIF/MP4): face files, or a clip with its reactions")
    p.add_argument("--out", required=True, help="OUT.gif, OUT.mp4, or OUT without suffix for both")
    p.add_argument("--face", nargs="+", help="(T, 58) .npy files to show side by side")
    p.add_argument("--audio", help="wav to mux into the MP4 (with --face)")
    p.add_argument("--data", help="corpus root: show a clip's speaker and real listener")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--clip", type=int, default=0, help="row of the split, in mirrored order")
    p.add_argument("--pred", help="predictions .npz from `facereact generate`: add generated listeners")
    p.add_argument("--samples", type=int, default=2, help="how many generated listeners to show")
    p.add_argument("--no-audio", action="store_true", help="do not mux the speaker's audio")
    p.add_argument("--size", type=int, default=160, help="pixels per face")
    p.add_argument("--pose-gain", type=float, default=1.0, help="exaggerate head motion")
    p.set_defaults(func=_render)

    p = verbs.add_parser("demo", help="the main job on a synthetic corpus")
    p.add_argument("--out", default="results/demo")
    p.add_argument("--sessions", type=int, default=36)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--settings", nargs="+", default=["online"], choices=("online", "offline", "distilled"),
                   help="generators to train (default: online, the one a robot streams; each adds ~6 min; "
                        "distilled: the online one's guidance in one pass, ~6 min more)")
    p.set_defaults(func=_demo)
    return parser


# Commands whose --out (or OUT) is checked for writing before any work: True for a folder.
OUTPUT_IS_FOLDER = {_synth: True, _demo: True, _evaluate: False, _train_tokenizer: True, _train_reader: True,
                    _tokenize: True, _bench_tokenizers: True, _train_generator: True, _train_distill: True,
                    _generate: False, _train_baseline: True, _render: False, _benchmark: True}


def main(argv: list[str] | None = None) -> int:
    """Every expected failure (a bad file, flag or setting) is one line and exit 2; Ctrl-C says how
    to go on; anything else is a bug and keeps its traceback, with a line saying so."""
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "out", None) and args.func in OUTPUT_IS_FOLDER:
            check_writable(args.out, folder=OUTPUT_IS_FOLDER[args.func])
        return args.func(args)
    except (DataError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = " (checkpoints are kept: run the same command with --resume to continue)" \
            if getattr(args, "resume", None) is not None else ""
        print(f"interrupted{hint}", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print("error: the above is a bug in facereact, not in your input: please report it with the command",
              file=sys.stderr)
        return 1
    finally:
        if "torch" in sys.modules:  # only commands that trained can hold a process group
            from facereact.train.distributed import teardown

            teardown()


if __name__ == "__main__":
    sys.exit(main())
