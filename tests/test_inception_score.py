"""Inception Score: closed forms, split convention, TF-GAN golden values, TGANv2's formula."""

import json
from pathlib import Path

import numpy as np
import pytest

from vdbench.metrics.errors import InputError
from vdbench.metrics.inception_score import inception_score, split_bounds

GOLDEN = Path(__file__).parent / "fixtures" / "inception_score_tfgan.npz"


def one_hot_logits(labels, classes, scale=1e3):
    return np.eye(classes)[labels] * scale


def test_uniform_predictions_score_one():
    assert inception_score(np.zeros((50, 1008))) == pytest.approx((1.0, 0.0), abs=1e-12)
    # identical rows of any shape: p(y|x) = p(y), KL = 0
    rows = np.tile(np.random.default_rng(0).normal(size=101), (30, 1))
    assert inception_score(rows)[0] == pytest.approx(1.0, abs=1e-12)


def test_confident_balanced_predictions_score_the_number_of_classes():
    labels = np.arange(60) % 12  # each of 12 classes 5 times, each prediction certain
    assert inception_score(one_hot_logits(labels, 101))[0] == pytest.approx(12.0, rel=1e-9)
    # all samples certain of the same class: no diversity
    assert inception_score(one_hot_logits(np.zeros(20, int), 10))[0] == pytest.approx(1.0)


def test_splits_score_each_part_and_report_population_std():
    # first half: two classes, balanced; second half: one class  → scores 2 and 1
    labels = np.array([0, 1] * 5 + [3] * 10)
    mean, std = inception_score(one_hot_logits(labels, 5), splits=2)
    assert (mean, std) == pytest.approx((1.5, 0.5), rel=1e-9)
    # one split: exp(H(p(y))) with p(y) = (¼, ¼, 0, ½, 0) → 2^1.5
    assert inception_score(one_hot_logits(labels, 5), splits=1)[0] == pytest.approx(2 ** 1.5)


def test_split_bounds_follow_improved_gan():
    assert split_bounds(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert split_bounds(57, 10)[-1] == (51, 57)
    with pytest.raises(InputError, match="cannot be cut into 10 splits"):
        split_bounds(9, 10)
    with pytest.raises(InputError, match="splits must be"):
        split_bounds(9, 0)


@pytest.mark.parametrize("splits", [1, 10])
def test_matches_tfgan_classifier_score(splits):
    with np.load(GOLDEN) as g:
        meta = json.loads(str(g["meta"]))
        for case in meta["cases"]:
            expect = g[f"{case}_split{splits}"]
            got = inception_score(g[f"{case}_logits"].astype(np.float64), splits=splits)
            assert got == pytest.approx(tuple(expect), rel=1e-9, abs=1e-12), case


def tgan2_inception_score(logits, splits, eps=1e-20):
    """TGANv2 / improved-GAN: softmax, +eps, KL against the split mean, exp, mean ± std."""
    z = logits - logits.max(axis=1, keepdims=True)
    ys = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    n, scores = len(ys), []
    for i in range(splits):
        part = ys[i * n // splits:(i + 1) * n // splits] + eps
        kl = part * (np.log(part) - np.log(part.mean(axis=0, keepdims=True)))
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return np.mean(scores), np.std(scores)


@pytest.mark.parametrize("splits", [1, 10])
def test_matches_tgan2_formula(splits):
    logits = np.random.default_rng(3).normal(size=(103, 101)) * 5
    assert inception_score(logits, splits) == pytest.approx(
        tgan2_inception_score(logits, splits), rel=1e-10)


def test_bad_logits_are_refused():
    with pytest.raises(InputError, match="expected logits"):
        inception_score(np.zeros(10))
    with pytest.raises(InputError, match="NaN or inf"):
        inception_score(np.full((4, 3), np.nan))
