"""The uniform random numbers a host feeds the exported step, the same in every language.

SplitMix64 (Steele, Lea and Flood 2014): draw n of a stream seeded s is mix(s + (n + 1) * GAMMA)
modulo 2^64, and its top 24 bits over 2^24 give a float32 in [0, 1) exactly. Counter-based, so
numpy computes a frame's draws in one vectorised call and a host in C++, C# or JavaScript
(examples/node/stream.mjs) gets the same numbers, hence the same reactions, from the same seed.
Any other source of uniforms works with the graph; this one makes runs comparable across stacks.
"""
from __future__ import annotations

import numpy as np

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


class HostRandom:
    """Seeded uniforms, `draw(shape)` at a time, continuing one stream."""

    def __init__(self, seed: int) -> None:
        self.seed = np.uint64(seed % 2 ** 64)
        self.drawn = 0

    def draw(self, shape: tuple[int, ...]) -> np.ndarray:
        n = int(np.prod(shape))
        with np.errstate(over="ignore"):  # arithmetic modulo 2^64 is the algorithm
            z = self.seed + (np.arange(self.drawn + 1, self.drawn + n + 1, dtype=np.uint64) * GAMMA)
            z = (z ^ (z >> np.uint64(30))) * _M1
            z = (z ^ (z >> np.uint64(27))) * _M2
            z = z ^ (z >> np.uint64(31))
        self.drawn += n
        return ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)).reshape(shape)
