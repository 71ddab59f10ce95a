"""Class labels through a NetDecoder feed every loss: indices for index losses, unit vectors otherwise."""
import numpy as np
import pytest

from lossviz import (CrossEntropyLossLayer, LinearLayer, MeanSquaredLossLayer, NetChain, NetDecoder, NetTrain,
                     SoftmaxLayer)
from lossviz.train.data import as_port_dict, read_data
from lossviz.train.spec import resolve_loss

RNG = np.random.default_rng(3)
X = RNG.uniform(-1, 1, (60, 2))
LABELS = ["Less" if a < b else "Greater" for a, b in X]


def _net():
    return NetChain([LinearLayer(), SoftmaxLayer()], input=2, output=NetDecoder("Class", ["Less", "Greater"]))


@pytest.mark.parametrize("loss, expected", [
    (MeanSquaredLossLayer(), "unit vectors"),
    (CrossEntropyLossLayer("Probabilities"), "unit vectors"),
    (CrossEntropyLossLayer("Index"), "indices"),
])
def test_labels_are_read_as_the_loss_needs_them(loss, expected):
    net = _net()
    raw = as_port_dict((X, LABELS), "Input", "Output")
    arrays = read_data(net, resolve_loss(net, loss, raw), raw)
    index = np.array([["Less", "Greater"].index(label) for label in LABELS])
    if expected == "indices":
        np.testing.assert_array_equal(arrays["Output"], index)
    else:
        np.testing.assert_array_equal(arrays["Output"], np.eye(2)[index])


@pytest.mark.parametrize("loss", [MeanSquaredLossLayer(), CrossEntropyLossLayer("Probabilities")])
def test_a_class_decoder_net_trains_on_labels_with_a_vector_loss(loss):
    trained = NetTrain(_net(), (X, LABELS), loss_function=loss, learning_rate=0.05, max_training_rounds=150,
                       random_seed=0, progress=None)
    assert trained([0.1, 0.9]) == "Less" and trained([0.9, 0.1]) == "Greater"


@pytest.mark.parametrize("loss", [MeanSquaredLossLayer(), CrossEntropyLossLayer("Probabilities")])
def test_integer_class_indices_feed_a_vector_loss_as_unit_vectors(loss):
    net = NetChain([LinearLayer(2), SoftmaxLayer()], input=2)
    index = (X[:, 0] > X[:, 1]).astype(int)
    raw = {"Input": X, "Output": index}
    arrays = read_data(net, resolve_loss(net, loss, raw), raw)
    np.testing.assert_array_equal(arrays["Output"], np.eye(2)[index])
    trained = NetTrain(net, (X, index), loss_function=loss, learning_rate=0.05, max_training_rounds=150,
                       random_seed=0, progress=None)
    assert np.mean(np.argmax(trained(X), axis=1) == index) > 0.9


def test_indices_out_of_range_are_not_turned_into_vectors():
    from lossviz.errors import LossvizError

    net = NetChain([LinearLayer(2), SoftmaxLayer()], input=2)
    with pytest.raises(LossvizError, match="'Output'"):
        NetTrain(net, (X, np.full(len(X), 5)), loss_function=MeanSquaredLossLayer(), max_training_rounds=1,
                 progress=None)
