"""Scoring commands: `generate`, `evaluate`, `benchmark`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facereact.cli.flags import SAMPLING_FLAGS, add_protocol_flags, add_sampling_flags, given_flags, sampling_from
from facereact.errors import DataError, UsageError


def _generate(args: argparse.Namespace) -> int:
    import numpy as np

    from facereact.data.mars import is_mars
    from facereact.generator.generate import generate_mars, generate_split
    from facereact.generator.model import load_generator
    from facereact.io import save_npz_atomic
    from facereact.model_files import folder_fingerprint

    generator, tokenizer = load_generator(args.model)
    if args.personal and not generator.personal:
        raise UsageError("--personal needs a personal generator (train generator --personal)")
    if is_mars(args.data):  # one (K, T, 25) array per input clip, for evaluate --protocol react2025
        reactions = generate_mars(generator, tokenizer, args.data, args.split, args.samples,
                                  sampling_from(args, generator), args.seed, inputs=args.inputs,
                                  personal=args.personal)
        save_npz_atomic(args.out, reactions)
        print(f"wrote {args.out}: {len(reactions)} input clips, K = {args.samples}, each as long as its input")
        return 0
    arrays = generate_split(generator, tokenizer, args.data, args.split, args.samples,
                            sampling_from(args, generator), args.seed,
                            inputs=args.inputs, personal=args.personal)
    model = f"{args.model} {folder_fingerprint(args.model)[:16]}"
    save_npz_atomic(args.out, {**arrays, "model": np.array(model)})
    print(f"wrote {args.out}: pred {arrays['pred'].shape}, pred_face {arrays['pred_face'].shape}")
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
    """The REACT figures with the behaviour and persona figures when the predictions carry faces: the
    tables' rows on stdout, every curve in --out too (metrics/behaviour.py, metrics/persona.py)."""
    from facereact.metrics.behaviour import behaviour_row
    from facereact.metrics.behaviour_inputs import load_behaviour_truth
    from facereact.metrics.files import read_npz
    from facereact.metrics.persona import persona_fidelity, persona_row

    faces = read_npz(Path(args.pred)).get("pred_face")
    if faces is None:
        print(f"note: {args.pred} holds no 'pred_face': no behaviour figures", file=sys.stderr)
        return _report(result, args.out)
    truth = load_behaviour_truth(args.data, args.split, faces.shape[2])
    figures, row = truth.score(faces)
    result["behaviour"] = row
    result["behaviour_real"] = behaviour_row(truth.figures, truth.figures)
    if len(faces) >= 3:  # a correlation across clips
        result["persona"] = persona_row(persona_fidelity(truth.listener_face, list(faces), truth.fps))
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


def _benchmark(args: argparse.Namespace) -> int:
    if args.protocol == "react2025":
        from facereact.benchmark_react2025 import benchmark_react2025

        _, table = benchmark_react2025(args.data, args.out, args.split, args.directions, args.samples, args.seed,
                                       model_dirs=args.models, sampling=given_flags(args, SAMPLING_FLAGS),
                                       with_behaviour=not args.no_behaviour)
        print(table)
        print(f"written to {args.out}/results.md, .csv, .json and targets.json")
        return 0
    from facereact.benchmark import benchmark

    # The flags given change each generator's own recommendation (online and offline differ).
    _, table = benchmark(args.data, args.out, args.models, args.split, args.samples, args.seed,
                         sampling=given_flags(args, SAMPLING_FLAGS), inputs=args.inputs,
                         with_behaviour=not args.no_behaviour)
    print(table)
    print(f"written to {args.out}/results.md, .csv, .json" + ("" if args.no_behaviour else
          ", behaviour.md, .csv, .json and behaviour_curves.json"))
    return 0


def register(verbs) -> dict:
    """Add these commands to the parser's verbs; returns the commands whose --out is checked
    for writing before any work (True: a folder)."""
    from facereact.generator.inputs import INPUT_SETS

    p = verbs.add_parser("generate", help="K reactions per speaker clip of a split, as PRED.npz")
    p.add_argument("--model", required=True, help="generator folder")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--out", required=True)
    add_sampling_flags(p)
    p.add_argument("--inputs", default="full", choices=INPUT_SETS,
                   help="what the speaker stream hears: full (audio, face, emotion), audio+face, "
                        "audio+face+read (emotion read off the face) or audio")
    p.add_argument("--personal", action="store_true",
                   help="tell a personal generator each listener's personality (MARS 2026's personalised track; "
                        "a REACT 2024-layout split's personality.csv); default: every listener unknown")
    p.set_defaults(func=_generate)

    p = verbs.add_parser("evaluate", help="the REACT metrics of generated reactions")
    p.add_argument("pred", nargs="?", help="predictions .npz holding 'pred' (N, K, T, 25); needs --data")
    p.add_argument("--inputs", help=".npz holding pred, listener_gt, speaker_gt, neighbour")
    p.add_argument("--data", help="corpus root for the ground truth and neighbours")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--mode", default="official", choices=("official", "corrected", "both"))
    add_protocol_flags(p)
    p.add_argument("--seed", type=int, default=2025, help="react2025: the target draw's seed")
    p.add_argument("--no-behaviour", action="store_true",
                   help="skip the behaviour figures (computed when PRED.npz holds 'pred_face')")
    p.add_argument("--out", help="write the figures as JSON here too (with the behaviour curves)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_evaluate)

    p = verbs.add_parser("benchmark", help="every system on one split, one comparison table")
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--models", nargs="*", default=[], help="trained generator folders to include")
    p.add_argument("--inputs", nargs="+", default=["full"], choices=INPUT_SETS,
                   help="what each generator's speaker stream hears, one row per set (default: full)")
    p.add_argument("--out", default="results/benchmark")
    p.add_argument("--no-behaviour", action="store_true", help="skip the behaviour table")
    add_protocol_flags(p)
    add_sampling_flags(p)
    p.set_defaults(func=_benchmark)
    return {_generate: False, _evaluate: False, _benchmark: True}
