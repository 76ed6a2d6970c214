"""`facereact export`: the online listener's step as an ONNX graph (export/files.py)."""
from __future__ import annotations

import argparse

from facereact.cli.flags import count_int, finite_float, given_flags, positive_float, positive_int


def _export(args: argparse.Namespace) -> int:
    from facereact.export.files import export_listener, read_interface

    print(f"exporting {args.model}: K = {args.samples}, {args.rate} Hz audio", flush=True)
    check = export_listener(args.model, args.out, args.samples, args.rate, None, not args.no_read_emotion,
                            args.check_frames, args.seed,
                            changes=given_flags(args, ("temperature", "guidance", "guidance_ramp")))
    how = read_interface(args.out)["sampling"]
    print(f"wrote {args.out}/step.onnx and interface.json: guidance {how['guidance']:g} (ramped over "
          f"{how['guidance_ramp']} frames), temperature {how['temperature']:g}")
    if check is None:
        print("not checked (--check-frames 0)")
        return 0
    print(check.text())
    return 0 if check.tokens_equal else 1


def register(verbs) -> dict:
    p = verbs.add_parser("export", help="the online listener's step as ONNX, for hosts without Python (docs/export.md)")
    p.add_argument("--model", required=True, help="an online generator folder")
    p.add_argument("--out", required=True, help="the export folder (step.onnx, interface.json)")
    p.add_argument("--samples", type=positive_int, default=10, help="reactions per frame (K), fixed in the graph")
    p.add_argument("--rate", type=positive_int, default=16000, help="the PCM sample rate the graph hears (Hz)")
    p.add_argument("--no-read-emotion", action="store_true",
                   help="leave the speaker's emotion absent instead of reading it off the tracked face")
    p.add_argument("--temperature", type=positive_float, default=None, help="default: the model's own")
    p.add_argument("--guidance", type=finite_float, default=None, help="default: the model's own")
    p.add_argument("--guidance-ramp", type=count_int, default=None, metavar="FRAMES", help="default: the model's own")
    p.add_argument("--check-frames", type=count_int, default=750,
                   help="frames run through PyTorch and onnxruntime to check the tokens agree (0: no check)")
    p.add_argument("--seed", type=int, default=0, help="the check's seed")
    p.set_defaults(func=_export)
    return {_export: True}
