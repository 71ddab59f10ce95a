"""The loss catalogue's test cases: valid random data (and a perfect prediction) for every registry entry.

A test that takes a ``case`` argument runs once per case below (``nonnegative_case``:
the cases whose loss is never negative; ``perfect_case``: those with a perfect prediction). Every
registry name must have at least one case (``test_catalogue`` checks it), so a
new loss gets the whole common suite by adding its case here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


@dataclass
class Case:
    """One configured loss and how to feed it.

    make(rng, batch) -> batched inputs; perfect(rng, batch) -> batched inputs
    whose loss is 0 (None if the loss has no zero); diff: the ports the loss
    is differentiable in (checked against finite differences).
    """

    id: str
    name: str
    make: object
    options: dict = field(default_factory=dict)
    perfect: object = None
    nonnegative: bool = True
    diff: tuple = ("Input",)

    def layer(self, **ports):
        from lossviz.losses import get

        return get(self.name, **self.options, **ports)


def _real_pair(shape):
    def make(rng, b):
        return {"Input": rng.normal(size=(b, *shape)), "Target": rng.normal(size=(b, *shape))}

    def perfect(rng, b):
        x = rng.normal(size=(b, *shape))
        return {"Input": x, "Target": x.copy()}

    return make, perfect


def _regression(name, **options):
    make, perfect = _real_pair((3, 2))
    return Case(name, name, make, options, perfect, diff=("Input", "Target"))


def _index_probs(rng, b):
    # one probability vector per example: undeclared, a matrix with a vector of indices is a batch of pairs
    # (Wolfram's reading), so threading over extra dimensions is tested with declared shapes elsewhere
    return {"Input": softmax(rng.normal(size=(b, 4))), "Target": rng.integers(0, 4, size=b)}


def _index_perfect(rng, b):
    y = rng.integers(0, 4, size=b)
    return {"Input": np.eye(4)[y], "Target": y}


def _prob_pair(rng, b):
    return {"Input": softmax(rng.normal(size=(b, 4))), "Target": softmax(rng.normal(size=(b, 4)))}


def _prob_perfect(rng, b):
    y = np.eye(4)[rng.integers(0, 4, size=b)]
    return {"Input": y, "Target": y.copy()}


def _binary(rng, b):
    return {"Input": rng.uniform(0.05, 0.95, size=(b, 3)), "Target": rng.uniform(0, 1, size=(b, 3))}


def _binary_perfect(rng, b):
    t = rng.integers(0, 2, size=(b, 3)).astype(float)
    return {"Input": t, "Target": t.copy()}


def _logits_index(rng, b):
    return {"Input": 3 * rng.normal(size=(b, 4)), "Target": rng.integers(0, 4, size=b)}


def _logits_dist(rng, b):
    return {"Input": 3 * rng.normal(size=(b, 4)), "Target": softmax(rng.normal(size=(b, 4)))}


def _logits_binary(rng, b):
    return {"Input": 3 * rng.normal(size=(b, 3)), "Target": rng.uniform(0, 1, size=(b, 3))}


def _logits_labels01(rng, b):
    return {"Input": 3 * rng.normal(size=(b, 3)), "Target": rng.integers(0, 2, size=(b, 3)).astype(float)}


def _scores_signs(rng, b):
    return {"Input": rng.normal(size=(b, 3)), "Target": signs(rng, (b, 3))}


def _signs_perfect(rng, b):
    t = signs(rng, (b, 3))
    return {"Input": 2.0 * t, "Target": t}


def _scores_index(rng, b):
    return {"Input": rng.normal(size=(b, 4)), "Target": rng.integers(0, 4, size=b)}


def _scores_index_perfect(rng, b):
    y = rng.integers(0, 4, size=b)
    return {"Input": np.eye(4)[y], "Target": y}


def _kl_div(rng, b):
    return {"Input": np.log(softmax(rng.normal(size=(b, 4)))), "Target": softmax(rng.normal(size=(b, 4)))}


def _kl_div_perfect(rng, b):
    t = softmax(rng.normal(size=(b, 4)))
    return {"Input": np.log(t), "Target": t}


def _prob_same(rng, b):
    t = softmax(rng.normal(size=(b, 4)))
    return {"Input": t, "Target": t.copy()}


def _poisson(rng, b):
    return {"Input": rng.normal(size=(b, 3)), "Target": rng.poisson(3.0, size=(b, 3)).astype(float)}


def _gll(rng, b):
    return {"Input": rng.normal(size=(b, 3)), "Variance": rng.uniform(0.5, 2.0, size=(b, 3)),
            "Target": rng.normal(size=(b, 3))}


def _mmd(rng, b):
    return {"Input": rng.normal(size=(b, 5, 2)), "Target": rng.normal(size=(b, 4, 2)) + 0.5}


def _mmd_perfect(rng, b):
    x = rng.normal(size=(b, 5, 2))
    return {"Input": x, "Target": x.copy()}


def _contrastive(rng, b):
    return {"Input": rng.uniform(0.0, 1.5, size=b), "Target": rng.integers(0, 2, size=b).astype(bool)}


def _contrastive_perfect(rng, b):
    t = rng.integers(0, 2, size=b).astype(bool)
    return {"Input": np.where(t, 0.5 + rng.uniform(0, 1, size=b), 0.0), "Target": t}


def _triplet(rng, b):
    return {"Input": rng.normal(size=(b, 3)), "Positive": rng.normal(size=(b, 3)),
            "Negative": rng.normal(size=(b, 3))}


def _triplet_perfect(rng, b):
    x = rng.normal(size=(b, 3))
    return {"Input": x, "Positive": x.copy(), "Negative": x + 2.0}


def _cosine(rng, b):
    return {"Input": rng.normal(size=(b, 3)), "Input2": rng.normal(size=(b, 3)), "Target": signs(rng, b)}


def _cosine_perfect(rng, b):
    x, t = rng.normal(size=(b, 3)), signs(rng, b)
    return {"Input": x, "Input2": np.where(t[:, None] > 0, 2.0 * x, -x), "Target": t}


def _ranking(rng, b):
    return {"Input": rng.normal(size=(b, 3)), "Input2": rng.normal(size=(b, 3)), "Target": signs(rng, (b, 3))}


def _ranking_perfect(rng, b):
    x, t = rng.normal(size=(b, 3)), signs(rng, (b, 3))
    return {"Input": x, "Input2": x - t, "Target": t}


def _ctc(rng, b):
    return {"Input": rng.normal(size=(b, 6, 4)), "Target": rng.integers(0, 3, size=(b, 3))}


CASES = [
    _regression("mse"),
    _regression("mae"),
    _regression("l2"),
    _regression("huber", rho=0.7),
    _regression("smooth_l1", beta=0.5),
    _regression("log_cosh"),
    Case("cross_entropy-Index", "cross_entropy", _index_probs, {"form": "Index"}, _index_perfect),
    Case("cross_entropy-Probabilities", "cross_entropy", _prob_pair, {"form": "Probabilities"}, _prob_perfect,
         diff=("Input", "Target")),
    Case("cross_entropy-Binary", "cross_entropy", _binary, {"form": "Binary"}, _binary_perfect,
         diff=("Input", "Target")),
    Case("softmax_ce", "softmax_ce", _logits_index),
    Case("softmax_ce-dense", "softmax_ce", _logits_dist, {"sparse_label": False, "label_smoothing": 0.1},
         diff=("Input", "Target")),
    Case("sigmoid_bce", "sigmoid_bce", _logits_binary, {"pos_weight": 2.0}, diff=("Input", "Target")),
    Case("sigmoid_bce-from_sigmoid", "sigmoid_bce", _binary, {"from_sigmoid": True}, diff=("Input", "Target")),
    Case("hinge", "hinge", _scores_signs, perfect=_signs_perfect),
    Case("squared_hinge", "squared_hinge", _scores_signs, perfect=_signs_perfect),
    Case("logistic", "logistic", _scores_signs),
    Case("multiclass_hinge", "multiclass_hinge", _scores_index, {"margin": 0.5}, None),
    Case("multiclass_hinge-theanets", "multiclass_hinge", _scores_index, {}, _scores_index_perfect),
    Case("binary_focal", "binary_focal", _logits_labels01),
    Case("categorical_focal", "categorical_focal", _logits_index),
    Case("kl_div", "kl_div", _kl_div, perfect=_kl_div_perfect, diff=("Input", "Target")),
    Case("kl_div-logits", "kl_div", _logits_dist, {"from_logits": False}, diff=("Input", "Target")),
    Case("kl", "kl", _prob_pair, perfect=_prob_same, diff=("Input", "Target")),
    Case("poisson_nll", "poisson_nll", _poisson, {"compute_full": True}, nonnegative=False),
    Case("gll", "gll", _gll, nonnegative=False, diff=("Input", "Variance", "Target")),
    Case("mmd", "mmd", _mmd, {"kernel": 2.0}, _mmd_perfect, diff=("Input", "Target")),
    Case("contrastive", "contrastive", _contrastive, perfect=_contrastive_perfect),
    Case("triplet", "triplet", _triplet, perfect=_triplet_perfect, diff=("Input", "Positive", "Negative")),
    Case("cosine_embedding", "cosine_embedding", _cosine, {"margin": 0.1}, _cosine_perfect,
         diff=("Input", "Input2")),
    Case("margin_ranking", "margin_ranking", _ranking, {"margin": 0.5}, _ranking_perfect,
         diff=("Input", "Input2")),
    Case("ctc", "ctc", _ctc),
]


_SELECTIONS = {
    "case": CASES,
    "nonnegative_case": [c for c in CASES if c.nonnegative],
    "perfect_case": [c for c in CASES if c.perfect is not None],
}


def pytest_generate_tests(metafunc):
    for argument, cases in _SELECTIONS.items():
        if argument in metafunc.fixturenames:
            metafunc.parametrize(argument, cases, ids=[c.id for c in cases])


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def all_cases():
    return CASES
