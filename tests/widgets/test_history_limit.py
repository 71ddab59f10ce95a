"""A panel left training keeps bounded memory: its session's history_limit and its curves' point limit."""
import numpy as np
import pytest

from lossviz import datasets, losses, NetChain
from lossviz.widgets.views import CURVE_POINTS, CurveHistory, CurveRenderer

pytest.importorskip("ipywidgets")


def test_the_panel_and_compare_turn_the_history_limit_on():
    from lossviz.widgets import TrainingPanel, compare
    from lossviz.widgets.panel import HISTORY_LIMIT

    data = datasets.load("circle", n=120, noise=0.1, random_seed=0)
    net = NetChain([4, "Tanh", 2, "Softmax"], input=2)
    panel = TrainingPanel(net, data, random_seed=0, resolution=20, history_limit=100)
    try:
        assert TrainingPanel.__init__.__kwdefaults__["history_limit"] == HISTORY_LIMIT
        assert panel.session.history_limit == 100 and panel.history.limit == CURVE_POINTS
        panel.session.run(rounds=300)  # what Train does, in this thread; the panel listens as it does then
        results = panel.results
        assert results["HistoryLimit"] == 100 and results["HistoryThinned"] and results["TotalRounds"] == 300
        assert len(results["RoundLossList"]) <= 100 and results["RoundNumbers"][-1] == 300
        panel.reset()  # a new session: the same limit
        assert panel.session.history_limit == 100 and panel.session.total_batches == 0
        assert "history_limit" not in panel.code  # not a NetTrain option
    finally:
        panel.close()
    c = compare(net, data, [losses.get("cross_entropy")], max_training_rounds=1, resolution=20)
    try:
        assert c.wait() and c.sessions[0].history_limit == HISTORY_LIMIT
    finally:
        c.close()


def _long_curve(n, seed=0):
    """A falling loss with noise and 5 spikes, one point a round: (x, y, indices of the spikes)."""
    rng = np.random.default_rng(seed)
    x = np.arange(1, n + 1, dtype=float)
    y = 2.0 / np.sqrt(x) * np.exp(0.3 * rng.normal(size=n))
    spikes = rng.choice(np.arange(n // 10, n), 5, replace=False)
    y[spikes] *= 20
    return x, y, spikes


def _history(x, y, limit, validation=None):
    history = CurveHistory(limit=limit)
    for i, (xi, yi) in enumerate(zip(x, y)):
        history.add_round(xi, yi, {}, {}, validation=None if validation is None else validation[i])
    return history


def test_a_long_curve_is_thinned_to_its_envelope_with_true_points():
    x, y, spikes = _long_curve(20_000)
    history = _history(x, y, limit=1000)
    kx, ky = (np.asarray(a) for a in history.series["total"])
    assert 1000 // 4 <= len(kx) <= 1000 and history.last("total") == y[-1]
    np.testing.assert_array_equal(ky, y[kx.astype(int) - 1])  # every kept point is a true point, at its round
    assert kx[0] == 1 and kx[-1] == 20_000  # the first and the newest
    assert y.max() in ky and y.min() in ky and np.all(np.isin(x[spikes], kx))  # the extremes and the spikes
    assert len(_history(x[:3000], y[:3000], limit=None).series["total"][0]) == 3000  # no limit: every point


def test_the_thinned_curves_look_as_the_whole_ones():
    # what a student sees: the curve image of a long run's thinned history against the whole one's. The
    # drawing itself keeps at most 1000 points of a curve (thin_curve): drawing the whole history with 1%
    # more points changes as many pixels (a pixel's worth of shift of the noise band's edges) as thinning
    x, y, _ = _long_curve(30_000, seed=1)
    thinned, whole = _history(x, y, CURVE_POINTS, 1.3 * y), _history(x, y, None, 1.3 * y)
    assert len(thinned.series["total"][0]) <= CURVE_POINTS and len(whole.series["total"][0]) == 30_000
    renderer = CurveRenderer(500, 330)
    image = renderer.rgb(thinned).astype(int)
    whole_image = CurveRenderer(500, 330).rgb(whole).astype(int)
    floor = CurveRenderer(500, 330)
    floor.max_points = 1010
    other_image = floor.rgb(whole).astype(int)

    def differ(a, b):
        return (np.abs(a - b).max(axis=2) > 64).mean()

    thinning, drawing = differ(image, whole_image), differ(other_image, whole_image)
    assert drawing < 0.02 and thinning <= max(0.002, 1.5 * drawing), (thinning, drawing)
