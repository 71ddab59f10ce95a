"""Decision surfaces: the same numbers as evaluating the net, the fast path and the fallback, errors, redraws."""
import numpy as np
import pytest

from lossviz import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    ThreadingLayer,
    decision_surface,
    plot_decision_surface,
)
from lossviz.errors import NetTypeError, ParameterError, PortError, ShapeError
from lossviz.plot import surface_colors, update_decision_surface
from lossviz.train import fused


def _grid(s):
    return np.stack(np.meshgrid(s.xs, s.ys), -1).reshape(-1, 2)


@pytest.fixture
def classifier():
    return NetInitialize(NetChain([16, "Tanh", 16, "Tanh", 3, "Softmax"], input=2), random_seed=0)


@pytest.mark.parametrize("precision, tol", [("Real32", 1e-6), ("Real64", 1e-14)])
def test_values_are_the_net_on_the_grid_row_by_y(classifier, precision, tol):
    s = decision_surface(classifier, (-2, 1), (0, 4), 31, working_precision=precision)
    assert s.values.shape == (31, 31, 3) and s.xs[0] == -2 and s.ys[-1] == 4
    np.testing.assert_allclose(s.values.reshape(-1, 3), classifier(_grid(s)), atol=tol)
    # row i is y = ys[i], column j is x = xs[j]
    np.testing.assert_allclose(s.values[5, 7], classifier([s.xs[7], s.ys[5]]), atol=tol)


def test_a_plain_chain_takes_the_fast_path_and_other_nets_the_engine(classifier, monkeypatch):
    calls = []
    real = fused.FusedForward
    monkeypatch.setattr(fused, "FusedForward", lambda *a, **k: (real(*a, **k), calls.append(1))[0])  # made ones
    decision_surface(classifier, resolution=10)
    assert calls == [1]
    graph = NetInitialize(NetGraph({"a": LinearLayer(1), "b": LinearLayer(1), "t": ThreadingLayer(lambda a, b: a * b)},
                                   [("a", NetPort("t", "Input1")), ("b", NetPort("t", "Input2"))], Input=2), random_seed=1)
    s = decision_surface(graph, resolution=12)
    assert calls == [1] and s.values.shape == (12, 12, 1)
    np.testing.assert_allclose(s.values.reshape(-1), graph(_grid(s)).reshape(-1), rtol=1e-15)


def test_a_large_grid_split_over_two_threads_equals_one_thread(classifier):
    grid = np.random.default_rng(0).normal(size=(40000, 2))
    one, two = fused.FusedForward(classifier, threads=1), fused.FusedForward(classifier, threads=2)
    np.testing.assert_allclose(two(grid), one(grid), rtol=2e-6)  # float32 BLAS blocks round differently
    assert {(20000, 0), (20000, 1)} <= two._buffers.keys()  # it did split


def test_forwards_of_one_architecture_share_buffers_but_not_parameters(classifier):
    other = NetInitialize(NetChain([16, "Tanh", 16, "Tanh", 3, "Softmax"], input=2), random_seed=9)
    grid = np.random.default_rng(0).normal(size=(500, 2))
    a, b = fused.FusedForward(classifier), fused.FusedForward(other)
    assert a._buffers is b._buffers
    np.testing.assert_allclose(a(grid), classifier(grid), atol=1e-6)
    np.testing.assert_allclose(b(grid), other(grid), atol=1e-6)
    assert fused.FusedForward(classifier, "Real64")._buffers is not a._buffers


def test_bad_arguments_get_lossviz_errors(classifier):
    with pytest.raises(ParameterError, match="resolution"):
        decision_surface(classifier, resolution=1)
    with pytest.raises(ParameterError, match="xlim"):
        decision_surface(classifier, xlim=(1, 1))
    with pytest.raises(ParameterError, match="ylim"):
        decision_surface(classifier, ylim="wide")
    with pytest.raises(ParameterError, match="working_precision"):
        decision_surface(classifier, working_precision="Real16")
    with pytest.raises(ShapeError, match=r"2 numbers.*'Input': a vector of length 3"):
        decision_surface(NetInitialize(NetChain([2], input=3), random_seed=0))
    with pytest.raises(NetTypeError, match="not initialized"):
        decision_surface(NetChain([2], input=2))
    with pytest.raises(PortError, match="unknown output 'Loss'"):
        decision_surface(classifier, output="Loss")


def test_colors_mix_classes_and_scale_scalars():
    certain = np.zeros((1, 3, 3))
    certain[0, np.arange(3), np.arange(3)] = 1.0
    rgb = surface_colors(certain)
    from lossviz.plot.surface import CLASS_COLORS, SURE_STRENGTH

    np.testing.assert_allclose(rgb[0], 1 - SURE_STRENGTH * (1 - CLASS_COLORS[:3]))  # a sure class: its color
    assert (surface_colors(np.full((1, 1, 3), 1 / 3)) >= 0.8).all()  # chance is pale
    ramp = surface_colors(np.linspace(5, 9, 4).reshape(1, 4, 1))
    np.testing.assert_allclose(ramp[0, 0], CLASS_COLORS[0]) and np.testing.assert_allclose(ramp[0, -1], CLASS_COLORS[1])
    with pytest.raises(ShapeError, match="rows, cols, k"):
        surface_colors(np.zeros((3, 3)))


def test_plot_then_update_redraws_the_same_image(classifier):
    X = np.random.default_rng(1).normal(size=(20, 2))
    plot = plot_decision_surface(classifier, resolution=40, data=(X, np.arange(20) % 3), xlim=(-3, 3), ylim=(-3, 3))
    image = plot.artists["image"]
    before = image.get_array().copy()
    assert before.shape == (40, 40, 3) and plot.artists["train"] in plot.ax.collections
    other = NetInitialize(NetChain([16, "Tanh", 16, "Tanh", 3, "Softmax"], input=2), random_seed=5)
    assert update_decision_surface(image, other) is image  # the old entry point still works
    after = image.get_array()
    assert plot.artists["image"] is image and after.shape == before.shape and not np.allclose(after, before)
    np.testing.assert_allclose(after, surface_colors(decision_surface(other, (-3, 3), (-3, 3), 40).values))


def test_an_elementwise_scalar_output_works():
    net = NetInitialize(NetChain([LinearLayer(1), ElementwiseLayer("LogisticSigmoid")], input=2), random_seed=2)
    s = decision_surface(net, resolution=9)
    assert s.values.shape == (9, 9, 1)
    np.testing.assert_allclose(s.values.reshape(-1), net(_grid(s)).reshape(-1), atol=1e-6)
