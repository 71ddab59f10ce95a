"""loss_landscape: the slice's numbers are the net's loss at θ + a d1 + b d2; directions; trajectory; update."""
import time

import numpy as np
import pytest

from lossviz.errors import ParameterError
from lossviz.plot import landscape_directions, landscape_values, loss_landscape
from lossviz.plot.landscape import flatten_params, _unflatten
from lossviz.train.examples import example_losses


def test_the_origin_is_the_nets_loss(trained_run, xor_data):
    net, (train, _) = trained_run["TrainedNet"], xor_data
    exact = example_losses(net, train).mean()
    for precision, tol in (("Real64", 1e-12), ("Real32", 1e-5)):
        plot = loss_landscape(net, train, resolution=5, working_precision=precision)
        assert plot.values.shape == (5, 5)
        np.testing.assert_allclose(plot.values[2, 2], exact, rtol=tol)
        one = loss_landscape(net, train, resolution=5, dims=1, working_precision=precision)
        np.testing.assert_allclose(one.values[2], exact, rtol=tol)


def test_every_grid_point_is_the_loss_of_the_moved_parameters(trained_run, xor_data):
    net, (train, _) = trained_run["TrainedNet"], xor_data
    d1, d2 = landscape_directions(net, random_seed=1)
    alphas, betas, values = landscape_values(net, train, directions=[d1, d2], span=0.5, resolution=7,
                                             working_precision="Real64")
    theta, v1, v2 = flatten_params(net.params), flatten_params(d1), flatten_params(d2)
    for i, j in ((0, 6), (3, 1), (6, 6)):
        moved = net.with_params(_unflatten(net.params, theta + alphas[j] * v1 + betas[i] * v2))
        np.testing.assert_allclose(values[i, j], example_losses(moved, train).mean(), rtol=1e-12)


def test_directions_are_filter_normalized_and_seeded(trained_run):
    net = trained_run["TrainedNet"]
    d1, d2 = landscape_directions(net, random_seed=7)
    for layer, arrays in net.params.items():
        for name, theta in arrays.items():
            d = d1[layer][name]
            if np.ndim(theta) == 2:
                np.testing.assert_allclose(np.linalg.norm(d, axis=1), np.linalg.norm(theta, axis=1), rtol=1e-12)
            else:
                assert not np.any(d)  # biases stay put (Li et al.)
    assert not np.allclose(flatten_params(d1), flatten_params(d2))
    np.testing.assert_array_equal(flatten_params(landscape_directions(net, random_seed=7)[0]), flatten_params(d1))


def test_the_trajectory_projects_onto_its_principal_directions(trained_run, xor_data):
    net, (train, _) = trained_run["TrainedNet"], xor_data
    trajectory = trained_run["ParameterTrajectory"]
    assert trajectory[0][0] == 0 and len(trajectory) >= 2
    plot = loss_landscape(net, train, results=trained_run, resolution=9)
    assert plot.mode == "pca"
    path = plot.artists["trajectory"].get_xydata()
    assert path.shape == (len(trajectory), 2)
    # the directions are orthonormal, and the path's last point (the final net) is near the centre
    D = np.stack(plot.directions)
    np.testing.assert_allclose(D @ D.T, np.eye(2), atol=1e-10)
    offsets = np.array([flatten_params(p) - plot.theta for _, p in trajectory])
    np.testing.assert_allclose(path, offsets @ D.T, atol=1e-9)
    assert np.abs(path).max() <= plot.span  # the grid covers the path
    np.testing.assert_allclose(plot.artists["start"].get_xydata(), path[:1])  # where training began


def test_the_star_names_the_round_of_the_current_parameters(trained_run, xor_data):
    """With a validation set NetTrain returns the best round, so the path may go on past the star: the
    legend says which round the star is."""
    net, (train, _) = trained_run["TrainedNet"], xor_data
    trajectory = trained_run["ParameterTrajectory"]
    theta = flatten_params(net.params)
    best = [r for r, p in trajectory if np.array_equal(flatten_params(p), theta)][-1]
    plot = loss_landscape(net, train, results=trained_run, resolution=5)
    label = plot.artists["center"].get_label()
    assert f"round {best}" in label and label.endswith("the last)" if best == trajectory[-1][0] else "goes on)")
    assert plot.artists["trajectory"].get_label() == f"training path (rounds 0-{trajectory[-1][0]})"
    plot.update(net.with_params(trajectory[0][1]), trained_run)
    assert plot.artists["center"].get_label() == "current parameters (round 0; the path goes on)"
    legend = [t.get_text() for t in plot.ax.get_legend().get_texts()]
    assert "current parameters (round 0; the path goes on)" in legend
    assert loss_landscape(net, train, resolution=5).artists["center"].get_label() == "current parameters"


def test_update_recentres_and_keeps_the_line_artists(trained_run, xor_data):
    net, (train, _) = trained_run["TrainedNet"], xor_data
    plot = loss_landscape(net, train, resolution=7, random_seed=3)
    center, path, colorbar = plot.artists["center"], plot.artists["trajectory"], plot.artists["colorbar"]
    before = plot.values.copy()
    first = trained_run["ParameterTrajectory"][0][1]
    plot.update(net.with_params(first))
    assert plot.artists["center"] is center and plot.artists["trajectory"] is path
    assert plot.artists["colorbar"] is colorbar
    assert not np.allclose(plot.values, before)
    np.testing.assert_allclose(plot.values[3, 3], example_losses(net.with_params(first), train).mean(), rtol=1e-5)
    assert len(plot.ax.collections) == len(set(plot.ax.collections))  # old contour sets were removed


def test_bad_arguments_get_lossviz_errors(trained_run, xor_data):
    net, (train, _) = trained_run["TrainedNet"], xor_data
    with pytest.raises(ParameterError, match="dims must be 1 or 2"):
        loss_landscape(net, train, dims=3)
    with pytest.raises(ParameterError, match="resolution must be an integer"):
        loss_landscape(net, train, resolution=2)
    with pytest.raises(ParameterError, match="span must be a positive number"):
        loss_landscape(net, train, span=0)
    with pytest.raises(ParameterError, match="directions='pca' needs results"):
        loss_landscape(net, train, directions="pca")
    with pytest.raises(ParameterError, match="2 parameter trees"):
        loss_landscape(net, train, directions=[np.zeros(3), np.zeros(3)])


def test_a_41_by_41_slice_of_a_2_16_16_2_net_on_500_examples_is_fast():
    from lossviz import NetChain, NetInitialize

    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    net = NetInitialize(NetChain([16, "Tanh", 16, "Tanh", 2, "Softmax"], input=2), random_seed=0)
    plot = loss_landscape(net, (X, y), resolution=41)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        plot.update(net)
        best = min(best, time.perf_counter() - start)
    assert best < 1.0, f"a 41x41 landscape update took {best:.2f} s (target 0.5 s; shared CPU: limit 1 s)"


def test_nets_on_the_general_engine_write_every_leaf():
    """A net the fast steps cannot take (a ThreadingLayer) goes through AutogradStep: one leaf per array."""
    from lossviz import LinearLayer, NetGraph, NetInitialize, NetPort, ThreadingLayer

    graph = NetInitialize(NetGraph({"a": LinearLayer(1), "b": LinearLayer(1), "t": ThreadingLayer(lambda a, b: a * b)},
                                   [("a", NetPort("t", "Input1")), ("b", NetPort("t", "Input2"))], Input=2),
                          random_seed=1)
    rng = np.random.default_rng(0)
    data = (rng.normal(size=(60, 2)), rng.normal(size=(60, 1)))
    d1, d2 = landscape_directions(graph, random_seed=2)
    alphas, betas, values = landscape_values(graph, data, directions=[d1, d2], resolution=5, working_precision="Real64")
    theta = flatten_params(graph.params)
    moved = graph.with_params(_unflatten(graph.params, theta + alphas[0] * flatten_params(d1) + betas[4] * flatten_params(d2)))
    np.testing.assert_allclose(values[4, 0], example_losses(moved, data).mean(), rtol=1e-12)
    np.testing.assert_allclose(values[2, 2], example_losses(graph, data).mean(), rtol=1e-12)
