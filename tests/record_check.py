"""Every metric of a runner record recomputed in the test from the features the run cached, with
direct numpy formulas (not vdbench.metrics), and compared value by value: a value swapped
between two names (IS and IS_real, FVD and FVD_train), assigned to the wrong set, folded from the
wrong draws or left out fails. Not a test module.

Formulas: Fréchet distance ‖μ₁−μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁Σ₂)^{1/2} (Heusel et al. 2017;
Unterthiner et al. 2018 for FVD) with unbiased covariances; with Aᵢ the centred features over
√(nᵢ−1), Σᵢ = AᵢᵀAᵢ and Tr (Σ₁Σ₂)^{1/2} is the sum of the singular values of A₁A₂ᵀ (the
non-zero eigenvalues of Σ₁Σ₂ are those of (A₁A₂ᵀ)(A₁A₂ᵀ)ᵀ), which needs no matrix square root.
Inception Score exp(E_x KL(p(y|x) ‖ p(y))) (Salimans et al. 2016) from a softmax written out,
over consecutive splits (improved-GAN), mean and population std.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

# metric name → (kind, the chunk array it reads); written here, not read from the registry
SPEC = {
    "fvd": ("fd", "i3d"), "fvd_per_draw": ("fd_per_draw", "i3d"),
    "fid_c3d": ("fd", "c3d"), "fid_c3d_per_draw": ("fd_per_draw", "c3d"),
    "fid_avg": ("fd", "inception_avg"), "fid_first": ("fd", "inception_first"),
    "is_i3d": ("is", "i3d"), "is_c3d": ("is", "c3d_logits"),
    "is_c3d_per_draw": ("is_per_draw", "c3d_logits"),
    "is_avg": ("is", "inception_avg_logits"), "is_first": ("is", "inception_first_logits"),
    "context_consistency": ("mean", "context_consistency"),
    "sprite_dynamics": ("mean", "sprite_dynamics"),
}


def chunk_rows(folder: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """All rows of a cache folder's chunks in global chunk order, and each row's draw."""
    chunks = []
    for path in folder.glob("chunk-*.npz"):
        with np.load(path) as z:
            index, sample, start, stop = (int(v) for v in z["__chunk__"])
            arrays = {k: z[k] for k in z.files if not k.startswith("__")}
        chunks.append((index, sample, stop - start, arrays))
    chunks.sort(key=lambda c: c[0])
    assert [c[0] for c in chunks] == list(range(len(chunks))), folder
    rows = {k: np.concatenate([c[3][k] for c in chunks]) for k in chunks[0][3]}
    draws = np.concatenate([np.full(c[2], c[1]) for c in chunks])
    return rows, draws


def frechet(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x.astype(np.float64), y.astype(np.float64)
    a = (x - x.mean(0)) / np.sqrt(len(x) - 1)
    b = (y - y.mean(0)) / np.sqrt(len(y) - 1)
    cross = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    return float(np.sum((x.mean(0) - y.mean(0)) ** 2) + np.sum(a * a) + np.sum(b * b)
                 - 2 * cross)


def inception_score(logits: np.ndarray, splits: int = 1) -> tuple[float, float]:
    scores = []
    n = len(logits)
    for i in range(splits):
        part = logits[i * n // splits:(i + 1) * n // splits].astype(np.float64)
        shifted = part - part.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        p = np.exp(log_p)
        with np.errstate(divide="ignore", invalid="ignore"):  # p log p → 0 where p = 0
            terms = np.where(p > 0, p * (log_p - np.log(p.mean(axis=0))), 0.0)
        kl = terms.sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _scores(logits: np.ndarray, name: str) -> dict[str, float]:
    out = {name: inception_score(logits)[0]}
    if len(logits) >= 10:
        out[f"{name}_10splits"], out[f"{name}_10splits_std"] = inception_score(logits, 10)
    return out


def _real_folders(cache_root: Path, protocol: dict) -> dict[str, Path]:
    """The real caches of a run by reference split ("" = the ground truth)."""
    base = f"{protocol['name']}-{protocol['preset']}-real"
    out = {}
    for folder in cache_root.iterdir():
        m = re.fullmatch(re.escape(base) + r"(?:-(\w+))?-[0-9a-f]{8}", folder.name)
        if m:
            assert (m.group(1) or "") not in out, "two real caches of one split"
            out[m.group(1) or ""] = folder
    return out


def expected_metrics(record: dict) -> dict[str, float]:
    """Every metric of the record's protocol, recomputed from the cached features."""
    gen_folder = Path(record["cache"]["folder"])
    gen, draws = chunk_rows(gen_folder)
    reals = {s: chunk_rows(f)[0] for s, f in _real_folders(gen_folder.parent,
                                                           record["protocol"]).items()}
    assert set(reals) == {"", *record["protocol"]["reference_splits"]}
    real = reals[""]
    out: dict[str, float] = {}
    for name in record["protocol"]["metrics"]:
        kind, key = SPEC[name]
        if kind == "fd":
            out.update({name + (f"_{s}" if s else ""): frechet(r[key], gen[key])
                        for s, r in reals.items()})
        elif kind == "fd_per_draw":
            values = [frechet(real[key], gen[key][draws == d]) for d in np.unique(draws)]
            out[f"{name}_mean"], out[f"{name}_std"] = np.mean(values), np.std(values)
        elif kind == "is_per_draw":
            values = [inception_score(gen[key][draws == d])[0] for d in np.unique(draws)]
            out[f"{name}_mean"], out[f"{name}_std"] = np.mean(values), np.std(values)
        elif kind == "is":
            out.update(_scores(gen[key], name))
            out.update(_scores(real[key], f"{name}_real"))
        else:
            out[name], out[f"{name}_real"] = np.mean(gen[key]), np.mean(real[key])
    return out


def fit_infinity(points: list) -> float:
    """The intercept a of the least-squares line value = a + b/N through the (N, value)
    points (Chong & Forsyth 2020's extrapolation to 1/N = 0)."""
    n, value = np.array(points, dtype=np.float64).T
    design = np.stack([np.ones_like(n), 1.0 / n], axis=1)
    return float(np.linalg.lstsq(design, value, rcond=None)[0][0])


def check_record(record: dict, rel: float = 1e-6) -> dict[str, float]:
    """Assert the record holds exactly the recomputed metrics; returns them. FVD∞ (``*_inf``)
    is checked as the least-squares intercept of the record's own subset points, the point at
    every clip being the recorded distance itself."""
    expected = expected_metrics(record)
    for name, fit in record.get("frechet_infinity", {}).items():
        if "points" in fit:
            n_all, at_all = max(fit["points"])
            base = name[:-len("_inf")]
            assert at_all == pytest.approx(expected[base], rel=rel), (name, at_all)
            expected[name] = fit_infinity(fit["points"])
    got = record["metrics"]
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=rel, abs=1e-9), (k, got[k], v)
    return expected
