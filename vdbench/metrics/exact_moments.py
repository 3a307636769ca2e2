"""Count, sum and sum of outer products of feature rows, accumulated exactly.

Floating-point addition is not associative, so Gaussian statistics summed batch by batch
(metrics/frechet.py) depend in their last bits on how the rows were split into batches and
processes. Here every feature is first put on a fixed grid (a multiple of 2⁻⁴⁰, |x| < 2¹²:
float32 features of magnitude above 2⁻¹⁷ are on it already; smaller ones move by at most 2⁻⁴¹)
and written as three integer digits of 18 bits, x·2⁴⁰ = d₀ + d₁·2¹⁸ + d₂·2³⁶. Then

    Σ x xᵀ = 2⁻⁸⁰ Σ_m 2^{18m} S_m,   S_m = Σ_{k+l=m} Σ_rows d_k d_lᵀ,

and every S_m is a sum of integers below 2⁵³, which float64 (and a BLAS matrix product, in any
order, over any number of threads) adds exactly. Carries keep the words below 2⁵³ however many
rows arrive; a canonical carry before conversion makes the words, and so the float64 moments,
a function of the multiset of rows alone: the same bits whatever the batching, order or number
of processes whose words were added (an all-reduce of integers is exact too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vdbench.metrics.errors import InputError
from vdbench.metrics.frechet import GaussianStats
from vdbench.util.blas import one_blas_thread

GRID_BITS = 40  # features are multiples of 2**-GRID_BITS
RANGE_BITS = 12  # |feature| < 2**RANGE_BITS, so x * 2**GRID_BITS < 2**52 is an exact integer
DIGIT_BITS = 18
DIGITS = 3  # 3 * 18 = 54 >= 52 bits
WORDS = 2 * DIGITS  # shifts 0..4 of the digit products, and one word for carries
# Rows between carries: a word gains < 3 * 2**36 per row (three digit products per shift) and
# holds < 2**18 after a carry, so 2**15 rows keep it below 2**53.
ROWS_PER_CARRY = 1 << 15


def digits(features: np.ndarray) -> np.ndarray:
    """[N, D] features → [DIGITS, N, D] float64 integer digits of x·2⁴⁰ rounded half to even
    (each |d| < 2¹⁸, with the sign of x)."""
    x = np.asarray(features, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise InputError("features contain NaN or inf")
    top = float(np.abs(x).max(initial=0.0))
    if top >= 2.0 ** RANGE_BITS:
        raise InputError(f"a feature of magnitude {top:.4g} is beyond the exact accumulator's "
                         f"range (|x| < {2 ** RANGE_BITS})")
    n = np.rint(np.ldexp(x, GRID_BITS))
    out = np.empty((DIGITS,) + x.shape)
    for k in reversed(range(DIGITS)):  # every step is exact: powers of two and integers
        out[k] = np.trunc(np.ldexp(n, -DIGIT_BITS * k))
        n = n - np.ldexp(out[k], DIGIT_BITS * k)
    return out


def carry(words: np.ndarray) -> np.ndarray:
    """The canonical form of Σ_m 2^{18m} words[m]: each word but the last in [0, 2¹⁸), the
    same integer (exact float64 operations on integers)."""
    words = words.copy()
    for m in range(len(words) - 1):
        q = np.floor(np.ldexp(words[m], -DIGIT_BITS))
        words[m] -= np.ldexp(q, DIGIT_BITS)
        words[m + 1] += q
    return words


def _value(words: np.ndarray, scale_bits: int) -> np.ndarray:
    """2^-scale_bits Σ_m 2^{18m} words[m] in float64, highest word first (a fixed order)."""
    out = np.zeros(words.shape[1:])
    for m in reversed(range(len(words))):
        out = out + np.ldexp(words[m], DIGIT_BITS * m - scale_bits)
    return out


@dataclass
class ExactMoments:
    """Exactly accumulated count, Σ x and Σ x xᵀ of [N, ``dim``] features (see the module)."""

    dim: int
    count: int = 0
    sum_words: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]
    outer_words: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]
    pending: int = 0  # rows added since the last carry

    def __post_init__(self) -> None:
        if self.sum_words is None:
            self.sum_words = np.zeros((WORDS, self.dim))
        if self.outer_words is None:
            self.outer_words = np.zeros((WORDS, self.dim, self.dim))

    def update(self, features: np.ndarray) -> "ExactMoments":
        x = np.asarray(features)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise InputError(f"expected features [N, {self.dim}], got shape {x.shape}")
        for start in range(0, len(x), ROWS_PER_CARRY):
            self._add(digits(x[start:start + ROWS_PER_CARRY]))
        return self

    def _add(self, d: np.ndarray) -> None:
        if self.pending + d.shape[1] > ROWS_PER_CARRY:
            self.normalize()
        with one_blas_thread():
            for k in range(DIGITS):
                self.sum_words[k] += d[k].sum(axis=0)
                for j in range(DIGITS):
                    self.outer_words[k + j] += d[k].T @ d[j]
        self.count += d.shape[1]
        self.pending += d.shape[1]

    def normalize(self) -> "ExactMoments":
        """Carry the words into their canonical form (the integers they stand for unchanged)."""
        self.sum_words, self.outer_words = carry(self.sum_words), carry(self.outer_words)
        self.pending = 0
        return self

    def merge(self, other: "ExactMoments") -> "ExactMoments":
        """Add ``other``'s rows, in place (exact: the words are integers)."""
        if other.dim != self.dim:
            raise InputError(f"cannot merge moments of dim {other.dim} into dim {self.dim}")
        self.normalize()
        other = other.copy().normalize()
        self.count += other.count
        self.sum_words = self.sum_words + other.sum_words
        self.outer_words = self.outer_words + other.outer_words
        return self.normalize()  # two carried words add to below 2**19: carry at once

    def copy(self) -> "ExactMoments":
        return ExactMoments(self.dim, self.count, self.sum_words.copy(),
                            self.outer_words.copy(), self.pending)

    def gaussian(self) -> GaussianStats:
        """The moments as float64 Gaussian statistics: a function of the rows alone."""
        s, so = carry(self.sum_words), carry(self.outer_words)
        return GaussianStats(self.dim, self.count, _value(s, GRID_BITS),
                             _value(so, 2 * GRID_BITS))
