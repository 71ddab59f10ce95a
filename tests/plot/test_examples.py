"""example_losses: each entry is the specification's loss on that example alone; the surface sizes points by it."""
import numpy as np
import pytest

from lossviz import (
    HuberLossLayer,
    LinearLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetInitialize,
    Scaled,
)
from lossviz.errors import NetTypeError, PortError
from lossviz.plot import plot_decision_surface
from lossviz.plot.examples import MAX_AREA, MIN_AREA, loss_sizes
from lossviz.train.data import read_data
from lossviz.train.examples import example_losses
from lossviz.train.spec import resolve_loss
from lossviz.train.steps import AutogradStep


def _alone(net, data, loss_function, i):
    """NetTrain's loss (float64 autograd step) on a batch holding example i only."""
    raw = {"Input": data[0], "Output": data[1]}
    spec = resolve_loss(net, loss_function, raw)
    arrays = read_data(net, spec, raw)
    step = AutogradStep(net, spec)
    subs = step.evaluate({k: v[i:i + 1] for k, v in arrays.items()})
    return float(subs @ np.array([t.scale for t in spec.terms for _ in t.names]))


def test_each_entry_is_the_loss_of_that_example_alone(trained_run, xor_data):
    net = trained_run["TrainedNet"]
    (X, labels), _ = xor_data
    losses = example_losses(net, (X, labels))
    assert losses.shape == (300,) and losses.dtype == np.float64 and np.all(losses > 0)
    for i in (0, 17, 299):
        np.testing.assert_allclose(losses[i], _alone(net, (X, labels), None, i), rtol=1e-12)
    p = net(X, "Probabilities")
    truth = [pr[lab] for pr, lab in zip(p, labels)]
    np.testing.assert_allclose(losses, -np.log(truth), rtol=1e-9)  # cross-entropy of the true class


def test_scaled_multi_loss_specifications_sum_their_terms():
    net = NetInitialize(NetChain([8, "Tanh", 1], input=2), random_seed=4)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    spec = [(MeanSquaredLossLayer(), Scaled(0.5)), ("Output", (HuberLossLayer(rho=0.3), Scaled(2.0)))]
    losses = example_losses(net, (X, y), spec)
    for i in (0, 39):
        np.testing.assert_allclose(losses[i], _alone(net, (X, y), spec, i), rtol=1e-12)
    out = net(X).reshape(-1, 1)
    huber = HuberLossLayer(rho=0.3)
    per_huber = huber.apply(huber.params, {"Input": out, "Target": y})["Loss"]
    np.testing.assert_allclose(losses, 0.5 * ((out - y) ** 2).ravel() + 2.0 * per_huber, rtol=1e-10)


def test_bad_input_gets_lossviz_errors():
    with pytest.raises(NetTypeError, match="not initialized"):
        example_losses(NetChain([LinearLayer(1)], input=2), (np.zeros((2, 2)), np.zeros(2)))
    with pytest.raises(NetTypeError, match="must be a lossviz net"):
        example_losses("net", ([[0.0, 0.0]], [0.0]))
    net = NetInitialize(NetChain([1], input=2), random_seed=0)
    with pytest.raises(PortError, match="'Labels'"):
        example_losses(net, {"Input": np.zeros((3, 2)), "Labels": np.zeros((3, 1))})


def test_sizes_grow_with_the_loss():
    sizes = loss_sizes([0.0, 0.5, 1.0, np.nan, np.inf])
    np.testing.assert_allclose(sizes[:3], [MIN_AREA, (MIN_AREA + MAX_AREA) / 2, MAX_AREA])
    assert sizes[3] == MIN_AREA and sizes[4] == MAX_AREA


def test_the_surface_sizes_points_by_their_loss_and_updates_them(trained_run, xor_data):
    train, test = xor_data
    first = NetInitialize(trained_run["TrainedNet"], random_seed=5)  # NetInitialize keeps trained weights
    plot = plot_decision_surface(trained_run["TrainedNet"], data=train, test_data=test, show_loss=True, resolution=50)
    points = plot.artists["train"]
    expected = example_losses(trained_run["TrainedNet"], train)
    np.testing.assert_allclose(plot.losses["train"], expected)
    np.testing.assert_allclose(points.get_sizes(), loss_sizes(expected, plot.largest_loss))
    assert plot.largest_loss == max(expected.max(), plot.losses["test"].max())
    labels = [t.get_text() for t in plot.artists["size_legend"].get_texts()]
    assert labels[0] == f"loss {plot.largest_loss:.3g}"
    untrained = first.with_params({k: {n: np.asarray(a) * 0.1 for n, a in v.items()}
                                   for k, v in first.params.items()})
    plot.update(untrained)
    assert plot.artists["train"] is points
    np.testing.assert_allclose(plot.losses["train"], example_losses(untrained, train))
    assert plot.artists["size_legend"].get_texts()[0].get_text() == f"loss {plot.largest_loss:.3g}"
