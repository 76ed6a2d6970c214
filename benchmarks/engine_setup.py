"""What the live-engine benchmarks share: their flags, and a process set up as `facereact serve` runs
one (one torch thread, the compiled steps ready)."""
from __future__ import annotations

import argparse

import torch

from facereact.generator.model import load_generator
from facereact.generator.session import compile_steps


def engine_parser(doc: str, ticks: int) -> argparse.ArgumentParser:
    """--model, --conversations, --samples, --ticks and --rounds, with the script's one-line description."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--model", default="results/demo/generator_online")
    ap.add_argument("--conversations", type=int, default=32)
    ap.add_argument("--samples", type=int, default=1)
    ap.add_argument("--ticks", type=int, default=ticks)
    ap.add_argument("--rounds", type=int, default=2)
    return ap


def served_model(folder: str):
    """The generator and tokenizer of `folder`, in a process set up as a server's worker."""
    torch.set_num_threads(1)
    models = load_generator(folder)
    compile_steps()
    return models
