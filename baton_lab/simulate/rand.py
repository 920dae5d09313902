"""A seeded stream of uniforms with the few distributions the model needs.

numpy's scalar calls cost microseconds each; the model makes millions of small draws, so uniforms are
drawn in blocks and turned into Bernoulli / Poisson / categorical draws by inversion. The stream is
consumed in a fixed order, so a seed fixes every draw.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

_BLOCK = 4096


class Draws:
    __slots__ = ("_rng", "_buf", "_i")

    def __init__(self, seed: np.random.SeedSequence) -> None:
        self._rng = np.random.default_rng(seed)
        self._buf: list[float] = []
        self._i = _BLOCK
        self._refill()

    def _refill(self) -> None:
        self._buf = self._rng.random(_BLOCK).tolist()
        self._i = 0

    def u(self) -> float:
        if self._i == _BLOCK:
            self._refill()
        value = self._buf[self._i]
        self._i += 1
        return value

    def chance(self, p: float) -> bool:
        return self.u() < p

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.u()

    def index(self, n: int) -> int:
        return min(int(self.u() * n), n - 1)

    def pick(self, seq):  # noqa: ANN001, ANN201 - any sequence
        return seq[self.index(len(seq))]

    def exponential(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u())

    def poisson(self, lam: float) -> int:
        if lam <= 0.0:
            return 0
        u = self.u()
        p = math.exp(-lam)
        cumulative = p
        k = 0
        while u > cumulative and k < 1000:
            k += 1
            p *= lam / k
            cumulative += p
        return k

    def gamma(self, shape: float, mean: float) -> float:
        return float(self._rng.gamma(shape, mean / shape))


def cumulative(weights: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    labels = [label for label, _ in weights]
    acc, total = [], 0.0
    for _, w in weights:
        total += w
        acc.append(total)
    acc[-1] = 1.0
    return labels, acc


def categorical(draws: Draws, table: tuple[list[str], list[float]]) -> str:
    labels, acc = table
    return labels[bisect.bisect_right(acc, draws.u())] if len(labels) > 1 else labels[0]
