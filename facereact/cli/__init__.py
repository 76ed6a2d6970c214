"""The `facereact` command: a thin layer over library functions, one module per group of commands."""
from __future__ import annotations

import argparse
import sys
import traceback

from facereact.cli import corpus, export, live, score, train
from facereact.errors import DataError, UsageError
from facereact.io import check_writable

# Commands whose --out (or OUT) is checked for writing before any work: True for a folder.
OUTPUT_IS_FOLDER: dict = {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facereact", description="Listener facial reaction generation (REACT).")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for group in (corpus, train, score, live, export):
        OUTPUT_IS_FOLDER.update(group.register(verbs))
    return parser


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
