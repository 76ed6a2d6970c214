"""The poster's second table: generators on FSQ, VQ and LFQ tokens of a matched vocabulary (about
1000), the same recipe and split, every metric column, averaged over sampling seeds. One command:

    python benchmarks/quantizer_generators.py --data results/demo/corpus \
        [--tokenizer-epochs 20 --generator-epochs 10 --seeds 0 1 2 3 --out results/quantizers]

Per quantizer: a tokenizer with the demo's settings but that quantizer (`facereact bench
tokenizers`' matched vocabularies: FSQ 8-5-5-5, VQ 1000 codes, LFQ 1024), then an online generator
with the demo's recipe on its tokens; then `facereact benchmark` once per seed with all three
(and the rule-based baselines), and the seed table of `quality_seeds.py`. A model folder that
already holds a trained model is reused, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from quality_seeds import seed_table

from facereact.benchmark import benchmark
from facereact.generator.model import GeneratorConfig
from facereact.generator.training import SCHEDULE as GENERATOR_SCHEDULE
from facereact.generator.training import train_generator
from facereact.model_files import CONFIG_FILE
from facereact.tokenizer.bench import RIVALS
from facereact.tokenizer.model import TokenizerConfig
from facereact.tokenizer.training import SCHEDULE as TOKENIZER_SCHEDULE
from facereact.tokenizer.training import train_tokenizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizer-epochs", type=int, default=20)
    ap.add_argument("--generator-epochs", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--split", default="val")
    ap.add_argument("--out", default="results/quantizers")
    args = ap.parse_args()
    out = Path(args.out)
    generators = []
    for name, overrides in RIVALS.items():
        tokenizer, generator = out / name / "tokenizer", out / name / f"generator_{name}"
        t0 = time.perf_counter()
        if not (tokenizer / CONFIG_FILE).is_file():
            train_tokenizer(args.data, tokenizer, replace(TokenizerConfig(), quantizer=name, **overrides),
                            replace(TOKENIZER_SCHEDULE, epochs=args.tokenizer_epochs), progress=False)
        if not (generator / CONFIG_FILE).is_file():
            train_generator(args.data, tokenizer, generator, GeneratorConfig(),
                            replace(GENERATOR_SCHEDULE, epochs=args.generator_epochs), progress=False)
        print(f"{name}: trained in {time.perf_counter() - t0:.0f} s (0 where reused)", flush=True)
        generators.append(generator)
    runs = [benchmark(args.data, out / f"seed{s}", generators, args.split, 10, s, progress=False)[0]
            for s in args.seeds]
    print(f"\n{args.split}, K = 10, seeds {args.seeds}: mean ± standard deviation over seeds\n")
    print(seed_table(runs))


if __name__ == "__main__":
    main()
