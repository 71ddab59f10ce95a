"""Playground, LossExplorer and compare, driven through their controls."""
import numpy as np
import pytest

from lossviz import NetChain, Scaled, datasets, losses
from lossviz.errors import ParameterError
from lossviz.widgets import LossExplorer, Playground, TrainingPanel, compare
from lossviz.widgets.compare import accuracy
from lossviz.widgets.playground import playground_net, playground_sets

pytest.importorskip("ipywidgets")


def outputs(net, X):
    return np.asarray(net.apply(net.params, {"Input": X})["Output"])


# ---------------------------------------------------------------------------- playground
@pytest.fixture
def playground():
    pg = TrainingPanel.playground("circle", n=200, random_seed=0, resolution=40)
    yield pg
    pg.close()


def test_playground_lists_the_plane_data_sets():
    sets = playground_sets()
    assert {"circle", "xor", "gaussian", "spiral", "plane", "multi_gaussian"} <= set(sets)
    assert "pairs" not in sets and "line_with_outliers" not in sets  # pairs, 1-D inputs


def test_playground_net_shapes():
    net = playground_net((8, 4), "ReLU", 3)
    assert net.outputs["Output"].dims == (3,)
    assert net.parameter_count == (2 * 8 + 8) + (8 * 4 + 4) + (4 * 3 + 3)
    assert playground_net((), "tanh", None).outputs["Output"].dims == ()
    with pytest.raises(ParameterError, match="activation"):
        playground_net((4,), "swish", 2)
    with pytest.raises(ParameterError, match="hidden"):
        playground_net((0,), "tanh", 2)


def test_playground_controls_rebuild_data_net_and_panel(playground):
    first = playground.panel
    assert isinstance(playground, Playground) and first.rows[0].menu.options[0][0].startswith(
        "Automatic: CrossEntropyLossLayer")
    playground.dataset.value = "plane"  # regression: a scalar output and MSE
    assert playground.panel is not first and not first.threads_alive
    assert playground.panel.net.outputs["Output"].dims == ()
    assert playground.panel.rows[0].menu.options[0][0].startswith("Automatic: MeanSquaredLossLayer")
    playground.dataset.value = "circle"
    playground.layers.value = 1
    playground.neurons.value = 5
    playground.activation.value = "ReLU"
    assert playground.panel.net.parameter_count == (2 * 5 + 5) + (5 * 2 + 2)
    playground.noise.value = 0.3
    playground.test_fraction.value = 0.3
    data = playground.panel.data
    assert len(data.test["Input"]) == pytest.approx(0.3 * 200, abs=2)


def test_playground_trains_and_its_code_runs_in_a_fresh_namespace(playground):
    panel = playground.panel
    panel.controls.rounds.value = 3
    panel.controls.train.click()
    assert panel.wait()
    assert len(panel.results["ValidationLossList"]) == 3  # the data set's test part is the validation set
    namespace = {}
    exec(panel.code, namespace)  # makes the data and the net itself
    X = panel.data.test["Input"]
    np.testing.assert_allclose(outputs(namespace["trained"], X), outputs(panel.trained_net, X), rtol=1e-5, atol=1e-7)


def test_playground_bad_data_set_name():
    with pytest.raises(ParameterError, match="dataset must be one of"):
        Playground("pairs")


# ---------------------------------------------------------------------------- explorer
def test_explorer_draws_the_chosen_losses_with_their_options():
    e = LossExplorer(("mse", "huber"), target=0.5)
    try:
        assert e.image.value[:4] == b"\x89PNG"
        assert [c["label"] for c in e.plot.curves] == ["mse", "huber"]
        x = e.plot.x
        np.testing.assert_allclose(e.plot.curves[0]["loss"], (x - 0.5) ** 2, rtol=1e-9, atol=1e-12)
        e._controls["huber"].controls["rho"].value = 0.25
        e.target.value = -1.0
        e.redraw()
        assert e.specs()[1] == ("huber", {"rho": pytest.approx(0.25)})
        huber = e.plot.curves[1]["loss"]
        d = np.abs(e.plot.x + 1.0)
        expected = np.where(d < 0.25, 0.5 * d**2, 0.25 * (d - 0.125))
        np.testing.assert_allclose(huber / huber.max(), expected / expected.max(), rtol=1e-6, atol=1e-9)
        e.choose.value = ("hinge", "logistic", "zero_one")
        e.against.value = "margin"
        e.redraw()
        assert [c["label"] for c in e.plot.curves][-1] == "0/1" and e.message.value == ""
        assert e.plot.against == "margin"
    finally:
        e.close()


def test_explorer_shows_errors_and_stays_usable():
    e = LossExplorer(("mse",))
    try:
        e.against.value = "margin"
        e.choose.value = ("ctc",)
        e.redraw()
        assert "lossviz-error" in e.message.value and "ctc" in e.message.value
        e.choose.value = ("hinge",)
        e.redraw()
        assert e.message.value == ""
    finally:
        e.close()
    with pytest.raises(ParameterError, match="unknown loss 'nope'"):
        LossExplorer(("nope",))


# ---------------------------------------------------------------------------- compare
def test_compare_trains_every_spec_from_the_same_start():
    ds = datasets.load("circle", n=160, noise=0.1, random_seed=0)
    net = NetChain([8, "Tanh", 2, "Softmax"], input=2)
    specs = {"cross-entropy": losses.get("cross_entropy"), "hinge x2": (losses.get("multiclass_hinge"), Scaled(2.0))}
    c = compare(net, ds, specs, max_training_rounds=4, batch_size=16, learning_rate=0.02, resolution=30)
    try:
        assert c.wait()
        assert c.labels == list(specs)
        results = c.results()
        assert [r["TotalRounds"] for r in results] == [4, 4]
        # the same initial weights: the first parameter trajectory point is shared
        t0, t1 = (r["ParameterTrajectory"][0][1] for r in results)
        flat = [np.concatenate([np.ravel(a) for a in _leaves(t)]) for t in (t0, t1)]
        np.testing.assert_array_equal(flat[0], flat[1])
        scores = c.scores()
        for s, r in zip(scores, results):
            assert s["rounds"] == 4 and s["test_loss"] == pytest.approx(r["ValidationLoss"])
            assert s["accuracy"] == pytest.approx(accuracy(r["FinalNet"], ds.test["Input"], ds.test["Output"]))
        assert all(img.value[:2] == b"\xff\xd8" for img in c.surface_images + c.curve_images)
        assert "accuracy" in c.score_texts[0].value and "finished" in c.status.value
    finally:
        c.close()


def test_compare_stop_and_close_end_the_thread():
    ds = datasets.load("xor", n=120, random_seed=0)
    c = compare(NetChain([4, "Tanh", 2, "Softmax"], input=2), ds, [losses.get("cross_entropy")],
                max_training_rounds=10_000, resolution=20)
    c.close()
    assert not c._thread.is_alive() and not c.redrawer.alive
    assert c.results()[0]["TotalRounds"] < 10_000


def test_compare_needs_specs():
    with pytest.raises(ParameterError, match="at least one"):
        compare(NetChain([2, "Softmax"], input=2), datasets.load("xor", n=40, random_seed=0), [])


def _leaves(tree):
    if isinstance(tree, dict):
        for k in sorted(tree):
            yield from _leaves(tree[k])
    elif isinstance(tree, (list, tuple)):
        for v in tree:
            yield from _leaves(v)
    else:
        yield tree


def test_compare_in_turn_gives_the_same_runs_as_interleaved():
    ds = datasets.load("xor", n=120, random_seed=0)
    net = NetChain([6, "Tanh", 2, "Softmax"], input=2)
    specs = [losses.get("cross_entropy"), losses.get("multiclass_hinge", margin=1.0)]
    runs = []
    for interleaved in (True, False):
        c = compare(net, ds, specs, max_training_rounds=3, interleaved=interleaved, resolution=20)
        try:
            assert c.wait()
            runs.append([r["RoundLossList"] for r in c.results()])
        finally:
            c.close()
    for a, b in zip(*runs):  # the order of training does not change a run
        np.testing.assert_allclose(a, b, rtol=1e-6)
