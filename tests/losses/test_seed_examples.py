"""The seeds' examples: Wolfram's loss layer pages, theanets' custom losses, the Gluon loss tutorial."""
import math

import numpy as np
import pytest

from lossviz.errors import DataError
from lossviz.losses import (
    ContrastiveLossLayer,
    CosineEmbeddingLossLayer,
    CrossEntropyLossLayer,
    KLDivLossLayer,
    L2LossLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    SoftmaxCrossEntropyLossLayer,
    get,
)
from lossviz.net.coders import NetEncoder


# ------------------------------------------------------------------ Wolfram
def test_mean_absolute_loss_of_one_example():
    assert MeanAbsoluteLossLayer()({"Input": [1, 2, 3], "Target": [1, 2, 4]}) == pytest.approx(1 / 3)


def test_declared_shapes_make_a_batch():
    layer = MeanSquaredLossLayer(input=3)
    batch = layer({"Input": [[1, 2, 3], [0, 0, 0]], "Target": [[1, 2, 4], [1, 1, 1]]})
    np.testing.assert_allclose(batch, [1 / 3, 1.0])
    assert layer({"Input": [1, 2, 3], "Target": [1, 2, 4]}) == pytest.approx(1 / 3)


def test_cross_entropy_index_takes_zero_based_classes():
    layer = CrossEntropyLossLayer("Index", input=3)
    p = [0.2, 0.3, 0.5]
    assert layer({"Input": p, "Target": 2}) == pytest.approx(-math.log(0.5))
    assert layer({"Input": p, "Target": 0}) == pytest.approx(-math.log(0.2))
    np.testing.assert_allclose(layer({"Input": [p, p], "Target": [0, 1]}), [-math.log(0.2), -math.log(0.3)])


def test_cross_entropy_threads_over_extra_dimensions_with_the_mean():
    p = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    # a declared tensor of vectors threads; undeclared, a matrix with indices is a batch of pairs
    loss = CrossEntropyLossLayer("Index", input=(3, 2))({"Input": p, "Target": [1, 0, 1]})
    assert loss == pytest.approx(np.mean(-np.log([0.8, 0.6, 0.5])))


def test_cross_entropy_probabilities_and_binary():
    p, t = [0.1, 0.6, 0.3], [0.0, 0.5, 0.5]
    assert CrossEntropyLossLayer("Probabilities")({"Input": p, "Target": t}) == pytest.approx(
        -(0.5 * math.log(0.6) + 0.5 * math.log(0.3)))
    assert CrossEntropyLossLayer("Binary")({"Input": 0.8, "Target": 1.0}) == pytest.approx(-math.log(0.8))
    binary = CrossEntropyLossLayer("Binary", input="Real")
    np.testing.assert_allclose(binary({"Input": [0.8, 0.8], "Target": [1.0, 0.0]}), -np.log([0.8, 0.2]))


def test_cross_entropy_with_a_class_encoder():
    layer = CrossEntropyLossLayer("Index", target=NetEncoder("Class", ["Less", "Greater"]))
    assert layer.inputs["Input"].dims == (2,)
    np.testing.assert_allclose(layer({"Input": [[0.9, 0.1], [0.2, 0.8]], "Target": ["Less", "Greater"]}),
                               -np.log([0.9, 0.8]))


def test_cross_entropy_on_character_sequences():
    layer = CrossEntropyLossLayer("Index", target=NetEncoder("Characters", "abc"))
    assert layer.inputs["Input"].dims == ("Varying", 3)
    onehot = np.eye(3)
    assert layer({"Input": onehot[[0, 1, 2, 1]], "Target": "abcb"}) == 0.0  # completely correct: 0
    guess = np.full((4, 3), 0.25)
    guess[:, 0] = 0.5
    assert layer({"Input": guess, "Target": "abca"}) == pytest.approx(np.mean(-np.log([0.5, 0.25, 0.25, 0.5])))
    ragged = layer({"Input": [onehot[[0, 1]], onehot[[2, 1, 0]]], "Target": ["ab", "cba"]})
    np.testing.assert_allclose(ragged, [0.0, 0.0])


def test_contrastive_loss_follows_the_target():
    layer = ContrastiveLossLayer()
    assert layer.margin == 0.5
    # True: the distance should be maximized; nonzero only below the margin
    np.testing.assert_allclose(layer({"Input": [0.1, 0.4, 0.5, 2.0], "Target": [True] * 4}),
                               [0.16, 0.01, 0.0, 0.0], atol=1e-15)
    # False: the distance should be minimized
    np.testing.assert_allclose(layer({"Input": [0.0, 0.5, 2.0], "Target": [False] * 3}), [0.0, 0.25, 4.0])


# ------------------------------------------------------------------ theanets
def test_theanets_mse_and_mae_are_the_wolfram_losses():
    assert type(get("mse")) is MeanSquaredLossLayer and type(get("mae")) is MeanAbsoluteLossLayer
    assert type(get("xe")) is CrossEntropyLossLayer and get("xe").form == "Index"


def test_theanets_weighted_targets_are_elementwise_weights():
    """theanets' weighted loss sum(w l) / sum(w) is lossviz's weighted loss divided by mean(w)."""
    x, t = np.array([[1.0, 2.0, 3.0]]), np.array([[0.0, 0.0, 0.0]])
    w = np.array([[1.0, 0.0, 2.0]])
    loss = get("mse").apply(None, {"Input": x, "Target": t, "Weight": w})["Loss"]
    theanets = np.sum(w * (x - t) ** 2) / np.sum(w)
    assert loss[0] / np.mean(w) == pytest.approx(theanets)


# ------------------------------------------------------------------ Gluon
def test_gluon_l2_loss_and_sample_weights():
    layer = L2LossLayer(input="Real")
    x, y = np.ones(2), 2 * np.ones(2)
    np.testing.assert_allclose(layer({"Input": x, "Target": y}), 0.5 * (x - y) ** 2)
    # Gluon's L2Loss multiplies each example by its weight: [1, 2] * 0.5 * 1**2
    np.testing.assert_allclose(layer({"Input": x, "Target": y, "Weight": [1, 2]}), [0.5, 1.0])


def test_gluon_softmax_cross_entropy_example():
    loss = SoftmaxCrossEntropyLossLayer(input=2)({"Input": [[1, 10], [8, 2]], "Target": [0, 1]})
    np.testing.assert_allclose(loss, [9 + math.log1p(math.exp(-9)), 6 + math.log1p(math.exp(-6))], rtol=1e-14)
    np.testing.assert_allclose(loss, [9.0001, 6.0025], atol=1e-4)


def test_gluon_kl_divergence_example():
    output = np.array([0.39056206, 1.3068528, 0.39056206, -0.30258512])
    target = np.array([0.3, 0.4, 0.1, 0.2])
    loss = KLDivLossLayer(from_logits=False)({"Input": output, "Target": target})
    p = np.exp(output) / np.exp(output).sum()
    np.testing.assert_allclose(p, [0.2, 0.5, 0.2, 0.1], atol=1e-6)  # the softmax the page prints
    kl = np.sum(target * np.log(target / p))
    assert loss == pytest.approx(kl / 4, rel=1e-12)  # the mean over the 4 entries, as Gluon reduces
    assert loss == pytest.approx(0.0254, abs=1e-4)
    assert 0.015 < loss < 0.03  # "about 0.02"


def test_gluon_kl_from_logits_reads_log_probabilities():
    with pytest.raises(DataError, match="from_logits=False"):
        KLDivLossLayer()({"Input": [0.4, 1.3], "Target": [0.5, 0.5]})


def test_gluon_cosine_embedding_examples():
    layer = CosineEmbeddingLossLayer(input=6)
    x = [1, 0, 1, 0, 1, 0]
    assert layer({"Input": x, "Input2": x, "Target": 1}) == pytest.approx(0.0, abs=1e-12)
    # orthogonal 0/1 vectors: every product in the dot product is exactly 0, so is the loss, on any CPU
    assert layer({"Input": x, "Input2": [0, 1, 0, 1, 0, 1], "Target": -1}) == 0.0


def test_gluon_formulas_of_the_binary_losses():
    x = np.linspace(-5, 5, 11)
    ones = np.ones_like(x)
    logistic = get("logistic", input="Real")({"Input": x, "Target": ones})
    np.testing.assert_allclose(logistic, np.log1p(np.exp(-x)), rtol=1e-14)
    hinge = get("hinge", input="Real")({"Input": x, "Target": ones})
    np.testing.assert_allclose(hinge, np.maximum(0, 1 - x))
    bce = get("sigmoid_bce", input="Real")({"Input": x, "Target": ones})
    probs = get("sigmoid_bce", from_sigmoid=True, input="Real")({"Input": 1 / (1 + np.exp(-x)), "Target": ones})
    np.testing.assert_allclose(bce, probs, rtol=1e-12)


def test_gluon_huber_is_l2_inside_rho_and_l1_outside():
    layer = get("huber", rho=2.0, input="Real")
    d = np.array([-3.0, -1.0, 0.5, 2.0, 4.0])
    np.testing.assert_allclose(layer({"Input": d, "Target": np.zeros(5)}),
                               [3 - 1, 1 / 4, 0.25 / 4, 2 - 1, 4 - 1])


def test_gluon_poisson_nll_formula():
    pred, target = np.array([0.5, 2.0, 4.0]), np.array([0.0, 1.0, 3.0])
    loss = get("poisson_nll", from_logits=False, input="Real")({"Input": pred, "Target": target})
    np.testing.assert_allclose(loss, pred - target * np.log(pred + 1e-8))
    full = get("poisson_nll", from_logits=False, compute_full=True, input="Real")({"Input": pred, "Target": target})
    stirling = np.where(target > 1, target * np.log(np.maximum(target, 1)) - target
                        + 0.5 * np.log(2 * np.pi * np.maximum(target, 1)), 0)
    np.testing.assert_allclose(full, loss + stirling)
