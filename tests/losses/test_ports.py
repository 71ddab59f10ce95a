"""Port shapes: what each loss infers from the shapes it is given, and how weights are read."""
import numpy as np
import pytest

from lossviz.losses import (
    ContrastiveLossLayer,
    CosineEmbeddingLossLayer,
    CrossEntropyLossLayer,
    CTCLossLayer,
    GaussianLogLikelihoodLossLayer,
    MaximumMeanDiscrepancyLossLayer,
    MeanSquaredLossLayer,
    SoftmaxCrossEntropyLossLayer,
    TripletLossLayer,
    get,
)
from lossviz.net.coders import NetEncoder


def dims(layer):
    return {port: t.dims for port, t in {**layer.inputs, **layer.outputs}.items()}


def test_an_elementwise_target_is_shaped_like_the_input_and_the_other_way_round():
    assert dims(MeanSquaredLossLayer(input=3)) == {"Input": (3,), "Target": (3,), "Weight": (), "Loss": ()}
    assert dims(MeanSquaredLossLayer(target=(2, 4)))["Input"] == (2, 4)
    assert dims(MeanSquaredLossLayer())["Input"] is None


def test_an_index_target_drops_the_class_axis():
    layer = CrossEntropyLossLayer("Index", input=(2, 5))
    assert layer.inputs["Target"].dims == (2,) and layer.inputs["Target"].kind == "Integer"
    assert CrossEntropyLossLayer("Index", target=(4,)).inputs["Input"].dims == (4, None)
    assert CrossEntropyLossLayer("Probabilities", input=5).inputs["Target"].dims == (5,)
    assert SoftmaxCrossEntropyLossLayer(axis=0, input=(5, 3)).inputs["Target"].dims == (3,)
    assert SoftmaxCrossEntropyLossLayer(axis=0, target=3).inputs["Input"].dims == (None, 3)


def test_encoders_set_the_number_of_classes():
    layer = CrossEntropyLossLayer("Index", target=NetEncoder("Class", ["cat", "dog", "fish"]))
    assert layer.inputs["Input"].dims == (3,)
    assert CTCLossLayer(target=NetEncoder("Characters", "abc")).inputs["Input"].dims == ("Varying", 4)


def test_losses_with_other_ports():
    cosine = CosineEmbeddingLossLayer(input=4)
    assert dims(cosine)["Input2"] == (4,) and dims(cosine)["Target"] == ()
    gll = GaussianLogLikelihoodLossLayer(input=3)
    assert dims(gll)["Variance"] == (3,) and dims(gll)["Target"] == (3,)
    triplet = TripletLossLayer(positive=8)
    assert dims(triplet)["Input"] == (8,) and dims(triplet)["Negative"] == (8,)
    assert MaximumMeanDiscrepancyLossLayer(input=(5, 2)).inputs["Target"].dims == (None, 2)


def test_contrastive_reads_a_distance_and_a_boolean():
    layer = ContrastiveLossLayer()
    assert layer.inputs["Input"].dims == () and layer.inputs["Target"].kind == "Boolean"
    assert ContrastiveLossLayer(input=3).inputs["Target"].dims == (3,)


def test_has_target():
    assert MeanSquaredLossLayer.has_target and not TripletLossLayer.has_target
    assert "Target" not in TripletLossLayer().inputs


def test_declared_elementwise_weights():
    layer = get("mse", input=3, weight=3)
    x, t = np.zeros((2, 3)), np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    w = np.array([[1.0, 0.0, 2.0], [0.5, 0.5, 0.5]])
    np.testing.assert_allclose(layer({"Input": x, "Target": t, "Weight": w}), np.mean(w * t ** 2, axis=1))
    broadcast = get("mse", input=3).apply(None, {"Input": x, "Target": t, "Weight": np.array([[2.0], [1.0]])})
    np.testing.assert_allclose(broadcast["Loss"], [2 * 14 / 3, 1.0])


def test_ignored_positions_leave_the_mean():
    p = np.full((1, 3, 2), 0.5)
    p[0, 0] = [0.9, 0.1]
    y = np.array([[0, -100, -100]])
    loss = get("cross_entropy", ignore_index=-100).apply(None, {"Input": p, "Target": y})["Loss"]
    assert loss[0] == pytest.approx(-np.log(0.9))
    all_ignored = get("cross_entropy", ignore_index=-100).apply(None, {"Input": p, "Target": np.full((1, 3), -100)})
    assert all_ignored["Loss"][0] == 0.0


def test_refine_from_a_connection():
    """The engine refines ports from connections; a loss then infers the rest."""
    layer = get("cross_entropy").refine({"Input": MeanSquaredLossLayer(input=4).inputs["Input"]})
    assert layer.inputs["Target"].dims == ()
