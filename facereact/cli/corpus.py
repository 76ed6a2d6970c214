"""Corpus commands: `synth`, `data check`, `demo`, `render`."""
from __future__ import annotations

import argparse

from facereact.cli.flags import finite_float, given_flags
from facereact.errors import UsageError


def _synth(args: argparse.Namespace) -> int:
    if args.layout == "mars":
        from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars

        if args.channels is not None or args.persona_shift is not None:
            raise UsageError("--channels and --persona-shift are for --layout react2024")
        names = ("sessions", "clips", "min_frames", "frames", "sample_rate", "seed", "voice", "persona_jitter")
        config = MarsSynthConfig(**given_flags(args, names, {"clips": "clips_per_session", "frames": "max_frames",
                                                             "persona_jitter": "jitter"}),
                                 world=_world(args))
        synthesize_mars(args.out, config)
        print(f"wrote a MARS-layout corpus of {config.sessions} sessions to {args.out}")
        return 0
    from facereact.synth.writer import SynthConfig, synthesize_corpus

    if args.min_frames is not None or args.persona_jitter is not None:
        raise UsageError("--min-frames and --persona-jitter are for --layout mars")
    names = ("sessions", "clips", "frames", "sample_rate", "channels", "seed", "persona_shift", "voice")
    config = SynthConfig(**given_flags(args, names, {"clips": "clips_per_session"}), world=_world(args))
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


def _data_augment(args: argparse.Namespace) -> int:
    from facereact.data.augment import augment_corpus

    changed = augment_corpus(args.root, args.out, args.room, args.seed, tuple(args.splits), progress=not args.quiet)
    print(f"wrote {args.out}: {changed} wavs of {', '.join(args.splits)} through random rooms (amount {args.room:g}), "
          "every other file as it was")
    return 0


def _demo(args: argparse.Namespace) -> int:
    if args.layout == "mars":
        from facereact.demo_mars import SESSIONS, run_mars_demo

        if args.settings != ["online"]:
            raise UsageError("--settings is for --layout react2024: the MARS demo trains the online generator")
        out = args.out or "results/demo_mars"
        run_mars_demo(out, sessions=args.sessions or SESSIONS, seed=args.seed, personal=args.personal)
        return 0
    if args.personal:
        raise UsageError("--personal is for --layout mars (REACT 2026's personalised tracks); on a REACT 2024-layout "
                         "corpus: facereact train generator --personal")
    from facereact.demo import run_demo

    run_demo(args.out or "results/demo", sessions=args.sessions or 36, seed=args.seed, settings=tuple(args.settings))
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


def register(verbs) -> dict:
    """Add these commands to the parser's verbs; returns the commands whose --out is checked
    for writing before any work (True: a folder)."""
    from facereact.synth.recording import VOICES
    from facereact.synth.world import KNOBS, WORLDS

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
    p.add_argument("--persona-jitter", type=float, default=None,
                   help="mars: how far each conversation's people lie from their session's pair, as a share of each "
                        "trait (default 0.1: a session's listeners are nearly one person; 0.5: many people answering "
                        "one prompt, each in their own way)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--voice", default=None, choices=VOICES,
                   help="formant (default: the synthetic voice), espeak (speech from espeak-ng) or espeak-heldout "
                        "(other espeak-ng voices and words: speech a model trained on espeak never heard)")
    p.add_argument("--world", default="demo", choices=tuple(WORLDS),
                   help="how its people react and speak and how they are tracked (docs/synthetic.md, 'Worlds'); "
                        "each knob below changes one thing of it")
    for knob, meaning in KNOBS.items():
        unit = {"tracker_noise": "STD", "tracker_jitter": "STD", "dropped_frames": "SHARE",
                "room": "AMOUNT"}.get(knob, "SCALE")
        p.add_argument("--" + knob.replace("_", "-"), type=finite_float, default=None, metavar=unit, help=meaning)
    p.set_defaults(func=_synth)

    p = verbs.add_parser("data", help="corpus tools")
    data_verbs = p.add_subparsers(dest="data_verb", required=True, metavar="ACTION")
    c = data_verbs.add_parser("check", help="validate a corpus and print a summary")
    c.add_argument("root")
    c.add_argument("--quiet", action="store_true", help="no progress bars")
    c.set_defaults(func=_data_check)
    a = data_verbs.add_parser("augment", help="a copy whose training speech is heard through random rooms and "
                                             "microphones (docs/synthetic.md, 'Voices and rooms')")
    a.add_argument("root")
    a.add_argument("--out", required=True, help="the copy's folder (other files are linked, not copied)")
    a.add_argument("--room", type=finite_float, default=0.5, metavar="AMOUNT",
                   help="0-1: reverberation, band limits, gain and noise, their ranges scaled (default 0.5)")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--splits", nargs="+", default=["train"], help="whose wavs change (default train only)")
    a.add_argument("--quiet", action="store_true", help="no progress bars")
    a.set_defaults(func=_data_augment)

    p = verbs.add_parser("demo", help="the main job on a synthetic corpus")
    p.add_argument("--layout", default="react2024", choices=("react2024", "mars"),
                   help="react2024 (NoXi/RECOLA, the REACT 2024 table and behaviour) or mars (REACT 2025/2026)")
    p.add_argument("--out", default=None, help="default results/demo (mars: results/demo_mars)")
    p.add_argument("--sessions", type=int, default=None, help="default 36 (mars: 32 prompts)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--settings", nargs="+", default=["online"], choices=("online", "offline", "distilled"),
                   help="generators to train (default: online, the one a robot streams; each adds ~6 min; "
                        "distilled: the online one's guidance in one pass, ~6 min more)")
    p.add_argument("--personal", action="store_true",
                   help="mars: a personal generator (told each listener's personality or not: both tracks' rows and "
                        "the persona table), about 3 min more")
    p.set_defaults(func=_demo)

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
    return {_synth: True, _demo: True, _render: False, _data_augment: True}
