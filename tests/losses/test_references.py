"""Losses PyTorch lacks, against independent numpy references written here (loops over examples).

Gradients of these losses are checked against finite differences by the common
suite (test_catalogue); here the values are pinned down, on inputs of several
ranks and with weights.
"""
import math

import autograd.numpy as anp
import numpy as np
import pytest

from lossviz.losses import get

RTOL = 1e-12


def per_example(elementwise, weight=None):
    """Reference reduction: the mean of each example's elements, times its weight."""
    out = np.array([np.mean(e) for e in elementwise])
    return out if weight is None else out * weight


def run(layer, data, weight=None):
    feed = dict(data) if weight is None else {**data, "Weight": weight}
    return layer.apply(None, feed)["Loss"]


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_hinge_and_squared_hinge(rng, shape):
    x, t = rng.normal(size=(5, *shape)), rng.choice([-1.0, 1.0], size=(5, *shape))
    hinge = [np.vectorize(lambda a, b: max(0.0, 1.5 - a * b))(xi, ti) for xi, ti in zip(x, t)]
    w = rng.uniform(0, 2, size=5)
    np.testing.assert_allclose(run(get("hinge", margin=1.5), {"Input": x, "Target": t}, w),
                               per_example(hinge, w), rtol=RTOL)
    np.testing.assert_allclose(run(get("squared_hinge", margin=1.5), {"Input": x, "Target": t}),
                               per_example([h ** 2 for h in hinge]), rtol=RTOL)


@pytest.mark.parametrize("shape", [(), (4,), (2, 2)])
def test_log_cosh(rng, shape):
    x, t = 30 * rng.normal(size=(5, *shape)), rng.normal(size=(5, *shape))
    ref = [np.vectorize(lambda a, b: math.log(math.cosh(a - b)))(xi, ti) for xi, ti in zip(x, t)]
    np.testing.assert_allclose(run(get("log_cosh"), {"Input": x, "Target": t}), per_example(ref), rtol=RTOL)


@pytest.mark.parametrize("margin", [0.0, 1.0])
def test_multiclass_hinge(rng, margin):
    x, y = rng.normal(size=(6, 3, 4)), rng.integers(0, 4, size=(6, 3))
    ref = [[max(0.0, max(v for k, v in enumerate(row) if k != c) - row[c] + margin) for row, c in zip(xi, yi)]
           for xi, yi in zip(x, y)]
    np.testing.assert_allclose(run(get("multiclass_hinge", margin=margin), {"Input": x, "Target": y}),
                               per_example(ref), rtol=RTOL)


def test_theanets_hinge_is_the_largest_score_minus_the_true_one(rng):
    p, y = rng.dirichlet(np.ones(4), size=6), rng.integers(0, 4, size=6)
    np.testing.assert_allclose(run(get("multiclass_hinge"), {"Input": p, "Target": y}),
                               p.max(1) - p[np.arange(6), y], rtol=RTOL)


def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (None, 0.0), (0.6, 0.5)])
def test_binary_focal(rng, alpha, gamma):
    x, t = 2 * rng.normal(size=(5, 3)), rng.integers(0, 2, size=(5, 3)).astype(float)

    def focal(v, label):
        p = _sigmoid(v)
        p_t = p if label == 1 else 1 - p
        a_t = 1.0 if alpha is None else (alpha if label == 1 else 1 - alpha)
        return -a_t * (1 - p_t) ** gamma * math.log(p_t)

    ref = [[focal(v, label) for v, label in zip(xi, ti)] for xi, ti in zip(x, t)]
    np.testing.assert_allclose(run(get("binary_focal", alpha=alpha, gamma=gamma), {"Input": x, "Target": t}),
                               per_example(ref), rtol=1e-10)


@pytest.mark.parametrize("alpha", [0.25, [0.1, 0.2, 0.3, 0.4], None])
def test_categorical_focal(rng, alpha):
    x, y = 2 * rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    ref = []
    for xi, c in zip(x, y):
        p = math.exp(xi[c]) / sum(math.exp(v) for v in xi)
        a = 1.0 if alpha is None else (alpha[c] if isinstance(alpha, list) else alpha)
        ref.append(-a * (1 - p) ** 2 * math.log(p))
    np.testing.assert_allclose(run(get("categorical_focal", alpha=alpha), {"Input": x, "Target": y}),
                               ref, rtol=1e-10)


def test_focal_without_focusing_is_the_cross_entropy(rng):
    x, y = 3 * rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    np.testing.assert_allclose(run(get("categorical_focal", alpha=None, gamma=0.0), {"Input": x, "Target": y}),
                               run(get("softmax_ce"), {"Input": x, "Target": y}), rtol=RTOL)
    t = rng.integers(0, 2, size=(5, 4)).astype(float)
    np.testing.assert_allclose(run(get("binary_focal", alpha=None, gamma=0.0), {"Input": x, "Target": t}),
                               run(get("sigmoid_bce"), {"Input": x, "Target": t}), rtol=RTOL)


@pytest.mark.parametrize("shape", [(), (3,)])
def test_contrastive(rng, shape):
    d, t = rng.uniform(0, 1, size=(6, *shape)), rng.integers(0, 2, size=(6, *shape)).astype(bool)
    ref = [np.vectorize(lambda a, b: max(0.7 - a, 0.0) ** 2 if b else a * a)(di, ti) for di, ti in zip(d, t)]
    layer = get("contrastive", margin=0.7, **({"input": shape} if shape else {}))
    w = rng.uniform(0, 2, size=6)
    np.testing.assert_allclose(run(layer, {"Input": d, "Target": t}, w), per_example(ref, w), rtol=RTOL)


@pytest.mark.parametrize("n, m, d", [(4, 3, 2), (5, 5, 1), (3, 6, 3)])
def test_mmd(rng, n, m, d):
    x, y = rng.normal(size=(2, n, d)), rng.normal(size=(2, m, d)) + 0.3

    def k(a, b):
        return math.exp(-sum((u - v) ** 2 for u, v in zip(a, b)) / 1.5)

    ref = [np.mean([[k(a, b) for b in yi] for a in yi]) - 2 * np.mean([[k(a, b) for b in xi] for a in yi])
           + np.mean([[k(a, b) for b in xi] for a in xi]) for xi, yi in zip(x, y)]
    np.testing.assert_allclose(run(get("mmd", kernel=1.5), {"Input": x, "Target": y}), ref, rtol=1e-10)
    if d == 1:
        np.testing.assert_allclose(run(get("mmd", kernel=1.5), {"Input": x[..., 0], "Target": y[..., 0]}), ref,
                                   rtol=1e-10)


def test_mmd_with_a_kernel_function(rng):
    def linear(a, b):
        return anp.einsum("bnd,bmd->bnm", a, b)

    x, y = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 5, 2))
    # with a linear kernel, MMD^2 is the squared distance between the sample means
    expected = np.sum((x.mean(1) - y.mean(1)) ** 2, axis=1)
    np.testing.assert_allclose(run(get("mmd", kernel=linear), {"Input": x, "Target": y}), expected, rtol=1e-10)
