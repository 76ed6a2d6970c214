"""What several commands share: flag types, flag groups and reading the flags given."""
from __future__ import annotations

import argparse
import math
from dataclasses import replace

from facereact.train.schedules import PRECISIONS


def given_flags(args: argparse.Namespace, names: tuple[str, ...], rename: dict[str, str] | None = None) -> dict:
    """The flags among `names` the user set (None means: keep the library's default)."""
    rename = rename or {}
    return {rename.get(k, k): getattr(args, k) for k in names if getattr(args, k, None) is not None}


def schedule_from(args: argparse.Namespace, default):
    """The trainer's settings: the library's defaults for this model, overridden by the flags given.
    An --epochs given is what runs: the default's step floor then applies only with --min-steps."""
    names = ("epochs", "min_steps", "batch_size", "lr", "warmup", "seed", "device", "keep_checkpoints", "precision",
             "average")
    given = given_flags(args, names, {"warmup": "warmup_steps"})
    if "epochs" in given:
        given.setdefault("min_steps", 0)
    return replace(default, **given)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def count_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def share(text: str) -> float:
    value = finite_float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def time_spans(text: str) -> list[tuple[float, float]]:
    """'4-7.5,12-15' -> [(4.0, 7.5), (12.0, 15.0)]: spans of seconds, each start below its end."""
    spans = []
    for part in text.split(","):
        bounds = part.strip().split("-")
        try:
            start, end = (float(b) for b in bounds)
        except ValueError:
            raise argparse.ArgumentTypeError(f"spans are START-END seconds separated by commas, got {text!r}") from None
        if not (0 <= start < end and math.isfinite(end)):
            raise argparse.ArgumentTypeError(f"a span starts at 0 s or later and before it ends, got {part.strip()!r}")
        spans.append((start, end))
    return spans


def personality(text: str) -> list[float]:
    """'0.8,0.6,0.4,0.3,0.7' -> the listener's Big Five in [0, 1], in layout.PERSONALITY_NAMES' order."""
    from facereact.errors import UsageError
    from facereact.generator.personality import personality_values

    try:
        return personality_values([float(v) for v in text.split(",")]).tolist()
    except (ValueError, UsageError) as exc:
        message = str(exc) if isinstance(exc, UsageError) else f"five numbers separated by commas, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


PERSONALITY_HELP = ("who the listener is, for a personal generator: its Big Five in [0, 1] as E,A,C,N,O (Extraversion, "
                    "Agreeableness, Conscientiousness, Neuroticism, Openness; e.g. 0.9,0.8,0.5,0.2,0.7)")


def add_protocol_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protocol", default="react2024", choices=("react2024", "react2025"),
                   help="react2025: a MARS corpus, targets drawn from each input's session, clips of any length")
    p.add_argument("--directions", default="both", choices=("both", "speaker"),
                   help="react2025: every clip as an input (2025) or speaker clips only (2026)")


def add_sampling_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--samples", type=positive_int, default=10, help="parallel reactions (K)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=positive_float, default=None,
                   help="default: the model's own (chosen on its validation split, else the house 0.9)")
    p.add_argument("--top-k", type=positive_int, default=None)
    p.add_argument("--top-p", type=positive_float, default=None)
    p.add_argument("--guidance", type=finite_float, default=None,
                   help="classifier-free guidance toward the speaker (1: none; costs a second listener pass; "
                        "default: the model's own, chosen on its validation split, else the house 4 online, 3 offline)")
    p.add_argument("--guidance-ramp", type=count_int, default=None, metavar="FRAMES",
                   help="frames over which guidance rises from 1 at a conversation's start (0: none; "
                        "default: the model's own, else the house 25 online, 10 offline)")


def add_schedule_flags(p: argparse.ArgumentParser, defaults) -> None:
    """The trainer's flags, shown with this model's library defaults (TrainConfig `defaults`)."""
    p.add_argument("--data", required=True, help="corpus root")
    p.add_argument("--epochs", type=positive_int, default=None, help=f"default {defaults.epochs}")
    p.add_argument("--min-steps", type=count_int, default=None,
                   help="at least this many steps: a small corpus runs more epochs (default "
                        f"{defaults.min_steps} without --epochs, else 0)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help=f"global batch, split over torchrun processes (default {defaults.batch_size})")
    p.add_argument("--lr", type=positive_float, default=None, help=f"default {defaults.lr:g}")
    p.add_argument("--warmup", type=int, default=None, help=f"warm-up steps (default {defaults.warmup_steps})")
    p.add_argument("--seed", type=int, default=None, help=f"default {defaults.seed}")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda when available")
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="the forward pass under bf16 autocast (weights stay float32): auto on CUDA; bf16 also on a "
                        f"CPU with native bf16 (AVX512-BF16, AMX); fp32 never (default {defaults.precision})")
    p.add_argument("--average", type=share, default=None, metavar="SPAN",
                   help="keep an exponential moving average of the weights spanning this share of the run's steps "
                        "(its decay 1 - 1 / (SPAN x steps)), validated and kept at the end (0: the last step's "
                        f"weights; default {defaults.average:g})")
    p.add_argument("--keep-checkpoints", type=positive_int, default=None,
                   help=f"checkpoints kept, the newest (default {defaults.keep_checkpoints}; one is written "
                        "every epoch: keep them all to pick one afterwards, benchmarks/select_checkpoint.py)")


def add_training_flags(p: argparse.ArgumentParser, defaults) -> None:
    """A training command's flags: the schedule's, and where to write and how to resume."""
    add_schedule_flags(p, defaults)
    p.add_argument("--out", required=True, help="model folder")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many steps (resume later)")


def add_size_flags(p: argparse.ArgumentParser, names: tuple[str, ...], authors: bool = True) -> None:
    if authors:
        p.add_argument("--size", choices=("small", "authors"), default="small",
                       help="small trains in minutes on a CPU; authors is the published size (GPU)")
    for flag in names:
        p.add_argument(f"--{flag}", type=positive_int, default=None, help="default: the model config's")


def add_tokenizer_flags(p: argparse.ArgumentParser, quantizer: bool = True) -> None:
    add_size_flags(p, ("width", "layers", "heads", "context", "window"))
    if quantizer:
        p.add_argument("--quantizer", choices=("fsq", "vq", "lfq"), default=None, help="default fsq")
        p.add_argument("--levels", type=positive_int, nargs="+", default=None, help="FSQ levels (default 5 x 8)")
        p.add_argument("--codebook-size", type=positive_int, default=None, help="VQ/LFQ vocabulary")
    p.add_argument("--usage-weight", type=finite_float, default=None, help="FSQ codebook-entropy weight (default 0)")
    p.add_argument("--squared-weight", type=finite_float, default=None,
                   help="weight of the squared-error term beside the grouped L1 (default 1)")
    p.add_argument("--motion-weight", type=finite_float, default=None,
                   help="weight of the L1 on the face's frame-to-frame changes, which keeps nods (default 1)")
    add_reader_flags(p)


def add_reader_flags(p: argparse.ArgumentParser) -> None:
    """How the tokenizer's face-to-emotion reader learns (`train tokenizer` and `train reader`)."""
    p.add_argument("--emotion-squared-weight", type=finite_float, default=None,
                   help="weight of a squared error on the emotion beside its L1 (default 4)")
    p.add_argument("--clip-starts", type=finite_float, default=None,
                   help="share of the emotion reader's windows taken at a clip's first frame (default 0.25)")


SAMPLING_FLAGS = ("temperature", "top_k", "top_p", "guidance", "guidance_ramp")


def sampling_from(args: argparse.Namespace, generator):
    """The sampling flags over the generator's own sampling (chosen on its validation split, else
    its setting's recommendation); None when no flag is given (the generator then uses its own)."""
    from facereact.generator.sampling import own_sampling

    given = given_flags(args, SAMPLING_FLAGS)
    return own_sampling(generator, given) if given else None


def say_sampling(args: argparse.Namespace, generator) -> None:
    """One line: how this generator will sample, and why (a live user sees what the model chose)."""
    from facereact.generator.sampling import own_sampling

    given = given_flags(args, SAMPLING_FLAGS)
    how = own_sampling(generator, given)
    why = ("chosen on its validation split" if generator.chosen_sampling is not None else "the house's") + \
        (", changed by your flags" if given else "")
    no_face = "" if how.guidance_no_face is None else f", {how.guidance_no_face:g} without the speaker's face"
    print(f"sampling: guidance {how.guidance:g}{no_face} (ramped over {how.guidance_ramp} frames), temperature "
          f"{how.temperature:g} ({why})", flush=True)
