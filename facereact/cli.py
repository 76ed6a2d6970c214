"""The `facereact` command: a thin layer over library functions."""
from __future__ import annotations

import argparse
import sys

from facereact.data.errors import DataError


def _synth(args: argparse.Namespace) -> int:
    from facereact.synth.writer import SynthConfig, synthesize_corpus

    config = SynthConfig(sessions=args.sessions, clips_per_session=args.clips, frames=args.frames,
                         sample_rate=args.sample_rate, channels=args.channels, seed=args.seed)
    synthesize_corpus(args.out, config)
    print(f"wrote {args.sessions * args.clips} clip pairs to {args.out}")
    return 0


def _data_check(args: argparse.Namespace) -> int:
    from facereact.data.check import check_corpus

    report = check_corpus(args.root, progress=not args.quiet)
    print(report.text())
    return 0 if report.ok else 1


def _demo(args: argparse.Namespace) -> int:
    from facereact.demo import run_demo

    run_demo(args.out, sessions=args.sessions, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facereact", description="Listener facial reaction generation (REACT).")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("synth", help="write a synthetic dyadic corpus in the REACT layout")
    p.add_argument("out")
    p.add_argument("--sessions", type=int, default=12)
    p.add_argument("--clips", type=int, default=4, help="clips per session")
    p.add_argument("--frames", type=int, default=751)
    p.add_argument("--sample-rate", type=int, default=16000)
    p.add_argument("--channels", type=int, choices=(1, 2), default=1)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_synth)

    p = verbs.add_parser("data", help="corpus tools")
    data_verbs = p.add_subparsers(dest="data_verb", required=True, metavar="ACTION")
    c = data_verbs.add_parser("check", help="validate a corpus and print a summary")
    c.add_argument("root")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    c.set_defaults(func=_data_check)

    p = verbs.add_parser("demo", help="the main job on a synthetic corpus")
    p.add_argument("--out", default="results/demo")
    p.add_argument("--sessions", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
