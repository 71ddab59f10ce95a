"""loss_plot: the curves are the results' lists on one round axis; sub-losses; changes; log scale; update."""
import numpy as np
import pytest

from lossviz import HuberLossLayer, MeanSquaredLossLayer, NetChain, Scaled
from lossviz.plot import loss_plot
from lossviz.plot.losscurves import MAX_BATCH_POINTS, loss_name
from lossviz.train.session import TrainingSession


@pytest.fixture
def session():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = (X @ [1.0, -2.0])[:, None]
    return TrainingSession(NetChain([8, "Tanh", 1], input=2), (X, y), loss_function=MeanSquaredLossLayer(),
                           random_seed=0, batch_size=32, learning_rate=0.01)


def test_round_batch_and_validation_curves_are_the_results_lists(trained_run):
    plot = loss_plot(trained_run)
    a = plot.artists
    x, y = a["round"].get_data()
    np.testing.assert_array_equal(y, trained_run["RoundLossList"])
    np.testing.assert_array_equal(x, np.arange(1, len(y) + 1))
    bx, by = a["batch"].get_data()
    per_round = trained_run["BatchesPerRound"]
    np.testing.assert_array_equal(by, trained_run["BatchLossList"])
    np.testing.assert_allclose(bx, np.arange(1, len(by) + 1) / per_round)  # batches at fractional rounds
    assert bx[per_round - 1] == 1.0
    np.testing.assert_array_equal(a["validation"].get_data()[1], trained_run["ValidationLossList"])
    best = trained_run["BestValidationRound"]
    assert a["best"].get_visible() and a["best"].get_xdata()[0] == best
    assert plot.ax.get_ylabel() == "CrossEntropyLoss('Index') on 'Output'"
    assert plot.ax.get_yscale() == "linear"


def test_specification_changes_are_marked_and_update_reuses_the_lines(session):
    session.run(rounds=3)
    plot = loss_plot(session.results())
    lines = {k: plot.artists[k] for k in ("batch", "round", "validation", "best")}
    assert plot.artists["changes"] == []
    session.set_loss_function(HuberLossLayer(rho=0.5))
    session.run(rounds=3)
    results = session.results()
    plot.update(results)
    assert all(plot.artists[k] is line for k, line in lines.items())
    (line, text), = plot.artists["changes"]
    change = results["SpecificationChanges"][0]
    assert line.get_xdata()[0] == change["round"] == 3.0 and "HuberLoss" in text.get_text()
    np.testing.assert_array_equal(plot.artists["round"].get_data()[1], results["RoundLossList"])
    assert plot.ax.get_ylabel() == "HuberLoss on 'Output', from round 3"  # the curve before it was another loss
    plot.update(results)  # the same change again: no new marker
    assert len(plot.artists["changes"]) == 1 and len(plot.ax.texts) == 1


def test_each_sub_loss_gets_its_own_colour_scaled_and_unscaled():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 2))
    y = (X @ [1.0, 1.0])[:, None]
    spec = [(MeanSquaredLossLayer(), Scaled(3.0)), ("Output", HuberLossLayer())]
    s = TrainingSession(NetChain([4, "Tanh", 1], input=2), (X, y), loss_function=spec, random_seed=0, batch_size=16)
    s.run(rounds=4)
    results = s.results()
    plot = loss_plot(results)
    scaled, unscaled = results["RoundScaledSubLossLists"], results["RoundSubLossLists"]
    assert set(plot.artists["sub"]) == set(scaled) and len(scaled) == 2
    colours = {line.get_color() for line in plot.artists["sub"].values()}
    assert len(colours) == 2 and plot.artists["round"].get_color() not in colours
    for name, line in plot.artists["sub"].items():
        np.testing.assert_array_equal(line.get_data()[1], scaled[name])
    # only the scaled-by-3 loss differs from its unscaled value
    (name, uline), = plot.artists["sub_unscaled"].items()
    np.testing.assert_array_equal(uline.get_data()[1], unscaled[name])
    np.testing.assert_allclose(np.asarray(scaled[name]), 3.0 * np.asarray(unscaled[name]), rtol=1e-6)
    assert plot.ax.get_ylabel() == "total loss: 3·MeanSquaredLoss + HuberLoss"
    legend = [t.get_text() for t in plot.ax.get_legend().get_texts()]
    assert "validation loss" not in legend and "Output/MeanSquaredLossLayer (unscaled)" in legend


class _Results(dict):
    """A stand-in for NetTrainResults with only the lists (an older or partial results object)."""


def test_long_runs_are_log_scaled_and_thinned():
    rounds = 6339
    batches = np.exp(-np.linspace(0, 12, rounds * 3)) + 1e-3
    results = _Results(BatchLossList=list(batches), RoundLossList=list(batches[2::3]), ValidationLossList=[])
    plot = loss_plot(results)
    assert plot.ax.get_yscale() == "log" and plot.ax.get_ylabel() == "loss"
    bx, by = plot.artists["batch"].get_data()
    assert len(bx) == MAX_BATCH_POINTS and bx[-1] <= rounds
    edges = np.linspace(0, len(batches), MAX_BATCH_POINTS + 1).astype(int)  # each point: the mean of its bin
    np.testing.assert_allclose(by, [batches[a:b].mean() for a, b in zip(edges[:-1], edges[1:])], rtol=1e-12)
    assert plot.ax.get_xlim()[1] >= rounds and plot.ax.get_xscale() == "log"  # the first rounds stay visible
    assert loss_plot(results, xlog=False).ax.get_xscale() == "linear"
    assert loss_plot(results, log=False).ax.get_yscale() == "linear"
    assert not loss_plot(results, batches=False).artists["batch"].get_visible()


def test_a_long_loss_name_goes_to_the_title():
    from lossviz import MeanAbsoluteLossLayer

    rng = np.random.default_rng(1)
    X = rng.normal(size=(32, 2))
    spec = [(MeanSquaredLossLayer(), Scaled(0.1)), ("Output", MeanAbsoluteLossLayer())]
    s = TrainingSession(NetChain([4, "Tanh", 1], input=2), (X, X[:, :1]), loss_function=spec, random_seed=0)
    s.run(rounds=2)
    plot = loss_plot(s.results())
    assert plot.ax.get_ylabel() == "total loss"
    assert plot.ax.get_title() == "total loss = 0.1·MeanSquaredLoss + MeanAbsoluteLoss"


def test_loss_name_describes_the_specification(trained_run):
    assert loss_name(None) == "loss"
    assert loss_name(trained_run["LossFunction"]) == "CrossEntropyLoss('Index') on 'Output'"
