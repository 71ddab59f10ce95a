"""loss_plot and ErrorRatePlot of a thinned history (TrainingSession(history_limit=): a panel's long run)."""
import numpy as np
import pytest

from lossviz import NetChain, TrainingSession
from lossviz.plot import loss_plot


@pytest.fixture(scope="module")
def runs():
    """The same training twice: every entry kept, and thinned to 100 entries a history (4 batches a round)."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (24, 2))
    labels = (X[:, 0] > X[:, 1]).astype(int)
    out = {}
    for limit in (None, 100):
        s = TrainingSession(NetChain([4, "Tanh", 2, "Softmax"], input=2), (X[:16], labels[:16]), batch_size=4,
                            validation_set=(X[16:], labels[16:]), learning_rate=0.05, random_seed=0,
                            history_limit=limit)
        s.run(rounds=400)
        out[limit] = s.results()
    return out


def test_a_thinned_history_is_drawn_at_its_batches_and_rounds_over_the_whole_run(runs):
    full, thin = runs[None], runs[100]
    assert thin["HistoryThinned"] and len(thin["BatchLossList"]) < 150 < len(full["BatchLossList"]) == 1600
    plot = loss_plot(thin)
    a = plot.artists
    bx, by = a["batch"].get_data()
    np.testing.assert_array_equal(by, thin["BatchLossList"])
    np.testing.assert_allclose(bx, np.array(thin["BatchNumbers"]) / 4)  # batch b at round b / 4
    assert bx[0] == 0.25 and bx[-1] == 400.0
    rx, ry = a["round"].get_data()
    np.testing.assert_array_equal(rx, thin["RoundNumbers"])
    np.testing.assert_array_equal(ry, thin["RoundLossList"])
    assert rx[0] == 1 and rx[-1] == 400
    np.testing.assert_array_equal(a["validation"].get_data()[0], thin["RoundNumbers"])
    # the same axes as the whole history's plot: the x range is the run's, the loss range its extremes
    whole = loss_plot(full)
    assert plot.ax.get_xlim() == pytest.approx(whole.ax.get_xlim())
    assert plot.ax.get_ylim() == pytest.approx(whole.ax.get_ylim())
    assert plot.ax.get_xlim()[1] == pytest.approx(400 * 1.01)


def test_the_error_rate_plot_of_a_thinned_history_puts_each_rate_at_its_round(runs):
    thin = runs[100]
    fig = thin["ErrorRatePlot"]
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    x, y = lines["validation"].get_data()
    np.testing.assert_array_equal(x, thin["RoundNumbers"])
    np.testing.assert_array_equal(y, [m["ErrorRate"] for m in thin["ValidationMeasurements"]])
    assert x[-1] == 400


def test_a_long_thinned_batch_history_is_drawn_as_its_envelope_not_averaged():
    """Over 2000 kept batch losses the plot reduces them: a thinned history is a min-max envelope already, and
    averaging its points would draw its thinned part far above its newest raw batches (lows and highs mixed)."""
    from lossviz.train.history import Trace

    losses = np.random.default_rng(1).exponential(size=60_000)  # a flat, noisy run: one level throughout
    trace = Trace(["loss"], limit=5_000)
    for i, value in enumerate(losses):  # as a session records them: thinned at every round's end
        trace.tail["loss"].append(value)
        if i % 16 == 15:
            trace.fit()
    positions, columns = trace.snapshot()
    results = {"BatchLossList": columns["loss"], "BatchNumbers": list(positions), "RoundLossList": [1.0] * 3750,
               "RoundNumbers": list(range(1, 3751)), "HistoryThinned": True, "TotalBatches": 60_000,
               "TotalRounds": 3750}
    x, y = loss_plot(results, validation=False, sub_losses=False).artists["batch"].get_data()
    # drawn: at most 2000 recorded batch losses at their own batches (averages of an envelope's lows and highs
    # would draw its thinned part well above its raw newest batches), the extremes among them
    assert len(y) <= 2000 and x[-1] == 3750
    recorded = dict(zip(np.array(positions) / 16, columns["loss"]))
    assert all(recorded.get(a) == b for a, b in zip(x, y))
    assert y.min() == min(columns["loss"]) and y.max() == max(columns["loss"])
