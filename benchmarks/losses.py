"""Every registry loss on 1e6 input elements, against a hand-written numpy expression of its formula.

``CASES[name] = (inputs(rng) -> {port: batched array}, reference(inputs) -> per-example losses)``.
The lossviz time is ``layer.apply(None, inputs)`` (validation of the inputs included: it is part
of what a user pays); each reference is checked to give the layer's values before it is timed.
A reference computes the layer's formula with the guards that change its values (logs of
probabilities clamped at -100, variances at 1e-6, log-cosh in its overflow-free form), in the
fewest numpy calls that give those values: equivalent rearrangements (one log of a ratio, the
expanded squared distance without lossviz's centring) are fair game.
"""
from __future__ import annotations

import time

import numpy as np

M = 1000      # elementwise losses: (M, M) inputs
C = 10        # class losses: (M * M // C, C) inputs
ROWS = M * M // C


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _lse(x):
    m = x.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]


def _pair(rng):
    return {"Input": rng.normal(size=(M, M)), "Target": rng.normal(size=(M, M))}


def _signed(rng):
    return {"Input": rng.normal(size=(M, M)), "Target": rng.choice([-1.0, 1.0], size=(M, M))}


def _unit(rng):
    return {"Input": rng.normal(size=(M, M)), "Target": rng.uniform(size=(M, M))}


def _index(rng, probabilities=False):
    x = rng.normal(size=(ROWS, C))
    return {"Input": _softmax(x) if probabilities else x, "Target": rng.integers(0, C, ROWS)}


def _dists(rng, log=False):
    p, t = _softmax(rng.normal(size=(ROWS, C))), _softmax(rng.normal(size=(ROWS, C)))
    return {"Input": np.log(p) if log else p, "Target": t}


def _clog(p):
    """``max(log p, -100)``: lossviz's (and PyTorch's BCELoss's) clamped log of a probability."""
    return np.maximum(np.log(p), -100.0)


def _log_cosh(d):
    """``log(cosh(d))`` as lossviz computes it, without overflow for ``|d| > 710``."""
    a = np.abs(d)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


def _huber(d, rho=1.0):
    a = np.abs(d)
    return np.where(a < rho, d * d / (2 * rho), a - rho / 2)


def _sq_dists(a, b):
    return (a * a).sum(-1)[:, :, None] + (b * b).sum(-1)[:, None, :] - 2 * a @ b.transpose(0, 2, 1)


def _mmd(x, y):
    k = lambda a, b: np.exp(-_sq_dists(a, b))  # noqa: E731 - bandwidth 1
    return k(y, y).mean((1, 2)) - 2 * k(y, x).mean((1, 2)) + k(x, x).mean((1, 2))


def _focal_binary(x, t, alpha=0.25, gamma=2.0):
    p = 1 / (1 + np.exp(-x))
    ce = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    pt = p * t + (1 - p) * (1 - t)
    return ((alpha * t + (1 - alpha) * (1 - t)) * (1 - pt) ** gamma * ce).mean(1)


def _focal_categorical(x, y, alpha=0.25, gamma=2.0):
    lp = x[np.arange(len(y)), y] - _lse(x)
    return -alpha * (1 - np.exp(lp)) ** gamma * lp


def _multiclass_hinge(x, y, margin=0.0):
    rows = np.arange(len(y))
    xy = x[rows, y]
    other = x.copy()
    other[rows, y] = -np.inf
    return np.maximum(0.0, other.max(axis=1) - xy + margin)


def _cosine(a, b, t, margin=0.0):
    cos = (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))
    return np.where(t == 1, 1 - cos, np.maximum(0.0, cos - margin))


def _xlogx_ratio(t, q):
    """``t log(t / q)`` with ``0 log 0 = 0``."""
    return np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0) / q), 0.0)


def _xlogx(t):
    """``t log t`` with ``0 log 0 = 0``."""
    return np.where(t > 0, t * np.log(np.where(t > 0, t, 1.0)), 0.0)


def _gll(x, v, t, eps=1e-6):
    """The Gaussian NLL summed over the last axis, variances clamped at ``eps`` as lossviz (and PyTorch) do."""
    v = np.maximum(v, eps)
    return 0.5 * (np.log(v) + (t - x) ** 2 / v + np.log(2 * np.pi)).sum(1)


CASES = {
    "mse": (_pair, lambda d: ((d["Input"] - d["Target"]) ** 2).mean(1)),
    "mae": (_pair, lambda d: np.abs(d["Input"] - d["Target"]).mean(1)),
    "l2": (_pair, lambda d: (0.5 * (d["Input"] - d["Target"]) ** 2).mean(1)),
    "huber": (_pair, lambda d: _huber(d["Input"] - d["Target"]).mean(1)),
    "smooth_l1": (_pair, lambda d: _huber(d["Input"] - d["Target"]).mean(1)),
    "log_cosh": (_pair, lambda d: _log_cosh(d["Input"] - d["Target"]).mean(1)),
    "cross_entropy": (lambda r: _index(r, True),
                      lambda d: -_clog(d["Input"][np.arange(ROWS), d["Target"]])),
    "softmax_ce": (_index, lambda d: _lse(d["Input"]) - d["Input"][np.arange(ROWS), d["Target"]]),
    "sigmoid_bce": (_unit, lambda d: (np.maximum(d["Input"], 0) - d["Input"] * d["Target"]
                                      + np.log1p(np.exp(-np.abs(d["Input"])))).mean(1)),
    "hinge": (_signed, lambda d: np.maximum(0.0, 1 - d["Input"] * d["Target"]).mean(1)),
    "squared_hinge": (_signed, lambda d: (np.maximum(0.0, 1 - d["Input"] * d["Target"]) ** 2).mean(1)),
    "logistic": (_signed, lambda d: np.logaddexp(0.0, -d["Input"] * d["Target"]).mean(1)),
    "multiclass_hinge": (_index, lambda d: _multiclass_hinge(d["Input"], d["Target"])),
    "binary_focal": (lambda r: {**_unit(r), "Target": r.integers(0, 2, (M, M)).astype(float)},
                     lambda d: _focal_binary(d["Input"], d["Target"])),
    "categorical_focal": (_index, lambda d: _focal_categorical(d["Input"], d["Target"])),
    "kl_div": (lambda r: _dists(r, log=True),
               lambda d: (_xlogx(d["Target"]) - d["Target"] * d["Input"]).mean(1)),
    # t (log t - max(log p, -100)) as one log of a ratio: max(log p, -100) = log max(p, e**-100)
    "kl": (_dists, lambda d: _xlogx_ratio(d["Target"], np.maximum(d["Input"], np.exp(-100.0))).mean(1)),
    "poisson_nll": (lambda r: {"Input": r.normal(size=(M, M)), "Target": r.poisson(2.0, (M, M)).astype(float)},
                    lambda d: (np.exp(d["Input"]) - d["Target"] * d["Input"]).mean(1)),
    "gll": (lambda r: {**_pair(r), "Variance": r.uniform(0.5, 2.0, (M, M))},
            lambda d: _gll(d["Input"], d["Variance"], d["Target"])),
    "mmd": (lambda r: {"Input": r.normal(size=(100, 100, 100)), "Target": r.normal(size=(100, 100, 100))},
            lambda d: _mmd(d["Input"], d["Target"])),
    "contrastive": (lambda r: {"Input": r.uniform(0, 1, M * M), "Target": r.integers(0, 2, M * M).astype(float)},
                    lambda d: np.where(d["Target"] > 0, np.maximum(0.5 - d["Input"], 0) ** 2, d["Input"] ** 2)),
    "triplet": (lambda r: {"Input": r.normal(size=(M, M)), "Positive": r.normal(size=(M, M)),
                           "Negative": r.normal(size=(M, M))},
                lambda d: np.maximum(((d["Positive"] - d["Input"]) ** 2).sum(1)
                                     - ((d["Negative"] - d["Input"]) ** 2).sum(1) + 1.0, 0.0)),
    "cosine_embedding": (lambda r: {"Input": r.normal(size=(ROWS, C)), "Input2": r.normal(size=(ROWS, C)),
                                    "Target": r.choice([-1.0, 1.0], ROWS)},
                         lambda d: _cosine(d["Input"], d["Input2"], d["Target"])),
    "margin_ranking": (lambda r: {**_signed(r), "Input2": r.normal(size=(M, M))},
                       lambda d: np.maximum(0.0, -d["Target"] * (d["Input"] - d["Input2"])).mean(1)),
    "ctc": (lambda r: {"Input": r.normal(size=(100, 1000, C)), "Target": r.integers(0, C - 1, (100, 50))},
            None),  # a dynamic program: no one-line numpy expression to compare with
}


def _median_time(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def run(repeats=5):
    """``[(name, lossviz ms, numpy ms or None, note)]`` for every registry loss."""
    import lossviz.losses as L

    rows = []
    for name in L.names():
        layer = L.get(name)
        case = CASES.get(name)
        if case is None:
            rows.append((name, None, None, "no benchmark case"))
            continue
        make, ref = case
        data = make(np.random.default_rng(0))
        with np.errstate(all="ignore"):
            try:
                ours = lambda: layer.apply(None, data)["Loss"]  # noqa: E731
                value = ours()
                t_ours = _median_time(ours, repeats)
            except Exception as e:  # noqa: BLE001 - report and go on
                rows.append((name, None, None, f"error: {type(e).__name__}: {e}"[:80]))
                continue
            if ref is None:
                rows.append((name, t_ours * 1e3, None, "no numpy reference (dynamic program)"))
                continue
            expect = ref(data)
            if not np.allclose(value, expect, rtol=1e-6, atol=1e-9):
                err = float(np.max(np.abs(value - expect)))
                rows.append((name, t_ours * 1e3, None, f"reference disagrees (max diff {err:.2g})"))
                continue
            t_ref = _median_time(lambda: ref(data), repeats)
        rows.append((name, t_ours * 1e3, t_ref * 1e3, ""))
    return rows
