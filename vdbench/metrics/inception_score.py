"""Inception Score from classifier logits: IS = exp(E_x KL(p(y|x) ‖ p(y))).

One split is TF-GAN's `classifier_score_from_logits` (log-softmax in float64, p(y) the mean of
p(y|x) over the split). Splits follow openai/improved-gan's `get_inception_score`, which TGANv2's
`inception_score` copies: the N samples, in the order given, are cut into `splits` consecutive
parts [i·N//splits, (i+1)·N//splits), each part is scored, and the mean and the population
standard deviation (numpy's ddof=0) over parts are reported. TGANv2 adds 1e-20 to the
probabilities before the logarithm; in float64 that moves the score by less than 1e-12.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, logsumexp

from vdbench.metrics.errors import InputError


def check_logits(logits) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2:
        raise InputError(f"expected logits [N, classes], N ≥ 1, classes ≥ 2; got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("logits contain NaN or inf")
    return x


def split_bounds(n: int, splits: int) -> list[tuple[int, int]]:
    """[start, stop) of each part, as improved-GAN slices them: i·n//splits .. (i+1)·n//splits."""
    if splits < 1:
        raise InputError(f"splits must be ≥ 1, got {splits}")
    if n < splits:
        raise InputError(f"{n} samples cannot be cut into {splits} splits")
    return [(i * n // splits, (i + 1) * n // splits) for i in range(splits)]


def classifier_score(logits: np.ndarray) -> float:
    """exp(mean_x KL(p(y|x) ‖ p(y))) of one part, p(y) = mean_x p(y|x), in float64."""
    log_p = log_softmax(check_logits(logits), axis=1)
    log_p_y = logsumexp(log_p, axis=0) - np.log(log_p.shape[0])
    kl = np.sum(np.exp(log_p) * (log_p - log_p_y), axis=1)
    return float(np.exp(np.mean(kl)))


def inception_score(logits, splits: int = 1) -> tuple[float, float]:
    """(mean, std) of the per-split scores of [N, classes] logits (std 0 for one split)."""
    x = check_logits(logits)
    scores = [classifier_score(x[a:b]) for a, b in split_bounds(x.shape[0], splits)]
    return float(np.mean(scores)), float(np.std(scores))
