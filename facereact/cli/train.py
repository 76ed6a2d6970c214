"""Training commands: `train ...`, `choose-sampling`, `tokenize`, `bench tokenizers`."""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from facereact.cli.flags import (add_reader_flags, add_schedule_flags, add_size_flags, add_tokenizer_flags,
                                 add_training_flags, finite_float, given_flags, positive_float, positive_int,
                                 schedule_from)


def _tokenizer_config(args: argparse.Namespace):
    from facereact.tokenizer.model import TokenizerConfig

    base = TokenizerConfig.authors() if args.size == "authors" else TokenizerConfig()
    overrides = given_flags(args, ("width", "layers", "heads", "context", "quantizer", "codebook_size"))
    if getattr(args, "levels", None):
        overrides["levels"] = tuple(args.levels)
    return replace(base, **overrides)


def _tokenizer_loss(args: argparse.Namespace):
    from facereact.tokenizer.training import TokenizerLoss

    names = ("window", "squared_weight", "emotion_squared_weight", "usage_weight", "clip_starts", "motion_weight")
    return TokenizerLoss(**given_flags(args, names))


def _train_tokenizer(args: argparse.Namespace) -> int:
    from facereact.tokenizer.training import SCHEDULE, train_tokenizer

    train_tokenizer(args.data, args.out, _tokenizer_config(args), schedule_from(args, SCHEDULE), _tokenizer_loss(args),
                    resume=args.resume, max_steps=args.max_steps)
    print(f"tokenizer written to {args.out}")
    return 0


def _train_reader(args: argparse.Namespace) -> int:
    from facereact.tokenizer.training import READER_SCHEDULE, train_reader

    train_reader(args.data, args.tokenizer, args.out, schedule_from(args, READER_SCHEDULE), _tokenizer_loss(args),
                 resume=args.resume, max_steps=args.max_steps)
    print(f"tokenizer with a new emotion reader written to {args.out}")
    return 0


def _train_generator(args: argparse.Namespace) -> int:
    from facereact.generator.model import GeneratorConfig
    from facereact.generator.training import SCHEDULE, GeneratorTraining, train_generator

    base = GeneratorConfig.authors() if args.size == "authors" else GeneratorConfig()
    config = replace(base, offline=args.offline, **given_flags(args, ("width", "layers", "heads", "context", "future")))
    if args.aux_motion_weight == 0:  # no motion head at all, as before it existed
        config = replace(config, aux_motion=False)
    names = ("window", "listener_dropout", "speaker_dropout", "aux_emotion_weight", "aux_motion_weight", "onset_weight",
             "motion_onset_weight", "personality_dropout")
    settings = GeneratorTraining(**given_flags(args, names))
    train_generator(args.data, args.tokenizer, args.out, config, schedule_from(args, SCHEDULE), settings,
                    resume=args.resume, max_steps=args.max_steps, personal=args.personal)
    print(f"generator written to {args.out}")
    if args.max_steps is not None:
        print("stopped at --max-steps: the sampling is chosen when a run ends (or: facereact choose-sampling)")
    elif not args.no_choose_sampling:
        _choose(args.out, args.data, "val", args.seed or 0)
    return 0


def _choose(model: str, data: str, split: str, seed: int, temperatures: tuple[float, ...] = ()) -> None:
    """The generator picks its sampling on `split` and keeps it (generator/choose.py)."""
    from facereact.generator.choose import choose_sampling

    print(f"choosing the sampling on {split} (the rule: generator/choose.py)")
    _report_choice(choose_sampling(model, data, split, seed, temperatures=tuple(temperatures)), model)


def _report_choice(choice, model: str) -> None:
    print(choice.table())
    how = choice.sampling
    no_face = "" if how.guidance_no_face is None else f" ({how.guidance_no_face:g} hearing audio alone)"
    print(f"chosen: guidance {how.guidance:g}{no_face}, temperature {how.temperature:g} ({choice.seconds:.0f} s), "
          f"saved in {Path(model) / 'config.json'}")


def _choose_sampling(args: argparse.Namespace) -> int:
    _choose(args.model, args.data, args.split, args.seed, args.temperatures)
    return 0


def _train_distill(args: argparse.Namespace) -> int:
    from facereact.generator.distill import SCHEDULE, SETTINGS, distill_generator

    settings = replace(SETTINGS, **given_flags(args, ("window",)))
    distill_generator(args.teacher, args.data, args.out, args.guidance, schedule_from(args, SCHEDULE), settings,
                      resume=args.resume, max_steps=args.max_steps, layers=args.layers)
    print(f"distilled generator written to {args.out}")
    return 0


def _train_baseline(args: argparse.Namespace) -> int:
    from facereact.baselines.belfusion import BeLFusionConfig
    from facereact.baselines.trans_vae import TransVAEConfig
    from facereact.baselines.training import SCHEDULE, train_belfusion, train_trans_vae

    if args.baseline == "trans-vae":
        config = TransVAEConfig(online=args.online, **given_flags(args, ("width", "heads", "context", "window")))
        train_trans_vae(args.data, args.out, config, schedule_from(args, SCHEDULE), resume=args.resume,
                        max_steps=args.max_steps)
    else:
        config = BeLFusionConfig(online=args.online, binarize_aus=args.binarize_aus)
        train_belfusion(args.data, args.out, config, schedule_from(args, SCHEDULE), resume=args.resume,
                        max_steps=args.max_steps, personal=args.personal)
    print(f"{args.baseline} written to {args.out}")
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

    print(bench_tokenizers(args.data, args.out, _tokenizer_config(args), schedule_from(args, SCHEDULE),
                           _tokenizer_loss(args)))
    return 0


def register(verbs) -> dict:
    """Add these commands to the parser's verbs; returns the commands whose --out is checked
    for writing before any work (True: a folder)."""
    p = verbs.add_parser("train", help="train a model")
    train_verbs = p.add_subparsers(dest="model_kind", required=True, metavar="MODEL")
    from facereact.train.schedules import BASELINES as BASELINE_SCHEDULE
    from facereact.train.schedules import DISTILL as DISTILL_SCHEDULE
    from facereact.train.schedules import GENERATOR as GENERATOR_SCHEDULE
    from facereact.train.schedules import READER as READER_SCHEDULE
    from facereact.train.schedules import TOKENIZER as TOKENIZER_SCHEDULE

    t = train_verbs.add_parser("tokenizer", help="the face tokenizer (FSQ, or VQ/LFQ to compare)")
    add_training_flags(t, TOKENIZER_SCHEDULE)
    add_tokenizer_flags(t)
    t.set_defaults(func=_train_tokenizer)

    r = train_verbs.add_parser("reader", help="a new face-to-emotion reader for a trained tokenizer (its tokens, and "
                                              "the generators on them, unchanged)")
    add_training_flags(r, READER_SCHEDULE)
    r.add_argument("--tokenizer", required=True, help="trained tokenizer folder (or a generator's tokenizer copy)")
    r.add_argument("--window", type=positive_int, default=None, help="training window in frames (default 64)")
    add_reader_flags(r)
    r.set_defaults(func=_train_reader)

    g = train_verbs.add_parser("generator", help="the cross-modal reaction generator (tokenizer frozen)")
    add_training_flags(g, GENERATOR_SCHEDULE)
    add_size_flags(g, ("width", "layers", "heads", "context", "window"))
    g.add_argument("--tokenizer", required=True, help="trained tokenizer folder")
    g.add_argument("--offline", action="store_true", help="see the whole speaker clip (default: online)")
    g.add_argument("--future", type=positive_int, default=None,
                   help="offline: speaker frames ahead each listener frame sees (default 100)")
    g.add_argument("--listener-dropout", type=finite_float, default=None,
                   help="share of the listener's past tokens masked in training (default 0.3)")
    g.add_argument("--speaker-dropout", type=finite_float, default=None,
                   help="share of windows trained without the speaker (the guidance model; default 0.1)")
    g.add_argument("--aux-emotion-weight", type=finite_float, default=None,
                   help="weight of the speaker stream's guess of the listener's emotion (default 1)")
    g.add_argument("--aux-motion-weight", type=finite_float, default=None,
                   help="weight of its guess of whether each listener face region moves (default 1; 0: no motion head)")
    g.add_argument("--onset-weight", type=finite_float, default=None,
                   help="extra token-loss weight where the listener's emotion changes (default 0: off)")
    g.add_argument("--motion-onset-weight", type=finite_float, default=None,
                   help="extra token-loss weight where one of the listener's face regions starts moving (a nod's "
                        "onset; default 0: off)")
    g.add_argument("--personal", action="store_true",
                   help="condition on the listener's personality (MARS 2026's personality files, or a REACT 2024-layout "
                        "split's personality.csv): one model for the personal and the generic tracks (docs/generator.md, "
                        "\"Personal listeners\")")
    g.add_argument("--personality-dropout", type=finite_float, default=None,
                   help="--personal: share of windows whose listener is withheld (default 0.3)")
    g.add_argument("--no-choose-sampling", action="store_true",
                   help="keep the house sampling instead of choosing it on the validation split after training")
    g.set_defaults(func=_train_generator)

    d = train_verbs.add_parser("distill", help="an online generator that samples its teacher's guided reactions "
                                               "in one pass (guidance distilled into the weights)")
    add_training_flags(d, DISTILL_SCHEDULE)
    d.add_argument("--teacher", required=True, help="trained online generator folder")
    d.add_argument("--window", type=positive_int, default=None, help="training window in frames (default 128)")
    d.add_argument("--guidance", type=finite_float, default=None,
                   help="the teacher's guidance to distil (default: the teacher's own, chosen or the house 4)")
    d.add_argument("--layers", type=positive_int, default=None,
                   help="a shallower student (default: the teacher's layers): less work a live frame")
    d.set_defaults(func=_train_distill)

    for name, help_text in (("trans-vae", "the Trans-VAE baseline (offline, or --online)"),
                            ("belfusion", "the BeLFusion baseline (behaviour VAE + latent DDIM, best-of-10)")):
        b = train_verbs.add_parser(name, help=help_text)
        add_training_flags(b, BASELINE_SCHEDULE)
        b.add_argument("--online", action="store_true", help="condition only on the speaker's past")
        if name == "belfusion":
            b.add_argument("--binarize-aus", action="store_true", help="threshold the AU columns at 0.5")
            b.add_argument("--personal", action="store_true",
                           help="then learn weight shifts from the listener's personality (PerFRDiff-style, REACT "
                                "2026's personalised tracks): told no one it is the generic model (docs/baselines.md)")
        else:
            add_size_flags(b, ("width", "heads", "context", "window"), authors=False)
        b.set_defaults(func=_train_baseline, baseline=name)

    p = verbs.add_parser("choose-sampling", help="a trained generator picks its guidance, with the speaker's face and "
                                                 "hearing audio alone, on a split and keeps them in its config "
                                                 "(generator/choose.py)")
    p.add_argument("--model", required=True, help="trained generator folder")
    p.add_argument("--data", required=True, help="its corpus (REACT 2024 layout)")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperatures", type=positive_float, nargs="+", default=(), metavar="T",
                   help="also try these temperatures at the chosen guidance (none by default: they never won)")
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
    add_schedule_flags(b, TOKENIZER_SCHEDULE)
    add_tokenizer_flags(b, quantizer=False)
    b.add_argument("--out", default="results/tokenizers")
    b.set_defaults(func=_bench_tokenizers)
    return {_train_tokenizer: True, _train_reader: True, _train_generator: True, _train_distill: True,
            _train_baseline: True, _tokenize: True, _bench_tokenizers: True}
