"""Training on MARS-layout corpora of 1x and 10x size: peak memory and throughput, with the wav2vec2
features memory-mapped (facereact's path) and, for comparison, read into memory.

    python benchmarks/mars_training_memory.py [--scales 1 10] [--steps 40] [--work results/mars_memory]

Each run is a fresh process (so peak memory is its own): it reads and tokenizes the corpus, then
trains the generator for --steps steps (batch 16, window 128, the default sizes) and reports
- anonymous memory (RssAnon: what must fit in RAM) at its peak, sampled every 50 ms;
- file-backed memory (RssFile) at its peak: mapped feature pages, which the kernel drops under
  pressure rather than failing;
- training steps per second after the first 10 (warm-up), and the seconds spent loading
  (reading, checking and tokenizing the corpus; mean and spread of the features).
The tokenizer is randomly initialised (speed and memory do not depend on its weights).
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def memory_kib() -> dict[str, int]:
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            out[key] = int(value.split()[0])
    return out


def child(corpus: str, tokenizer: str, out: str, steps: int, mapped: bool) -> None:
    """One measured training run (in its own process)."""
    peak = {"RssAnon": 0, "RssFile": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            for key, value in memory_kib().items():
                peak[key] = max(peak[key], value)

    threading.Thread(target=sample, daemon=True).start()
    from facereact.data.mars import MarsCorpus
    from facereact.generator import training
    from facereact.train.schedules import GENERATOR

    if not mapped:  # the comparison: every feature file read into memory
        read = MarsCorpus.wav2vec
        MarsCorpus.wav2vec = lambda self, clip, mapped=False: read(self, clip, False)
    start = time.perf_counter()
    training.train_generator(corpus, tokenizer, out, train=GENERATOR, progress=False, max_steps=steps)
    done.set()
    with open(Path(out) / "train_log.csv", newline="") as f:
        log = [r for r in csv.DictReader(f) if r.get("seconds")]
    first, last = log[0], log[-1]  # the first logged step (10) ends the warm-up
    steps_per_s = (int(last["step"]) - int(first["step"])) / (float(last["seconds"]) - float(first["seconds"]))
    print(json.dumps({"anon_mib": peak["RssAnon"] / 1024, "file_mib": peak["RssFile"] / 1024,
                      "steps_per_s": steps_per_s,
                      "load_s": time.perf_counter() - start - float(last["seconds"])}))


def prepare(work: Path, scale: int) -> tuple[Path, Path]:
    from facereact.synth.mars_writer import MarsSynthConfig, synthesize_mars
    from facereact.tokenizer.model import FaceTokenizer, TokenizerConfig
    from facereact.layout import MARS_FPS

    corpus = work / f"corpus_x{scale}"
    if not (corpus / "done").exists():
        synthesize_mars(corpus, MarsSynthConfig(sessions=4 * scale, seed=scale))
        (corpus / "done").write_text("")
    tokenizer = work / "tokenizer"
    if not (tokenizer / "config.json").exists():
        FaceTokenizer(TokenizerConfig(fps=MARS_FPS)).save(tokenizer)
    return corpus, tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--work", default="results/mars_memory")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        corpus, tokenizer, out, steps = args.child
        child(corpus, tokenizer, out, int(steps), mapped=not args.memory)
        return
    work = Path(args.work)
    rows = []
    for scale in args.scales:
        corpus, tokenizer = prepare(work, scale)
        size = sum(f.stat().st_size for f in corpus.rglob("*.npy") if "audio-features" in f.parts) / 2 ** 20
        for mapped in (True, False):
            out = work / f"run_x{scale}_{'mapped' if mapped else 'memory'}"
            cmd = [sys.executable, __file__, "--child", str(corpus), str(tokenizer), str(out), str(args.steps)]
            result = subprocess.run(cmd + ([] if mapped else ["--memory"]), capture_output=True, text=True,
                                    cwd=ROOT, check=True)
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            rows.append((scale, size, "mapped" if mapped else "in memory", figures))
            print(f"x{scale} ({size:.0f} MiB of wav2vec2 features), {rows[-1][2]}: peak anonymous "
                  f"{figures['anon_mib']:.0f} MiB, peak file-backed {figures['file_mib']:.0f} MiB, "
                  f"{figures['steps_per_s']:.2f} steps/s, loading {figures['load_s']:.1f} s", flush=True)
    print("\n| corpus | wav2vec2 features | features | peak anonymous memory | peak file-backed | "
          "steps/s | loading |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for scale, size, how, f in rows:
        print(f"| x{scale} | {size:.0f} MiB | {how} | {f['anon_mib']:.0f} MiB | {f['file_mib']:.0f} MiB | "
              f"{f['steps_per_s']:.2f} | {f['load_s']:.1f} s |")


if __name__ == "__main__":
    main()
