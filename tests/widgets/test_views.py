"""The live views: colours, point discs, per-example losses, blitted curves, and the throttle."""
import io
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossviz import NetInitialize, NetTrain
from lossviz.plot import decision_surface, surface_colors
from lossviz.train import resolve_loss
from lossviz.train.data import read_data
from lossviz.widgets.views import (
    CurveHistory,
    CurveRenderer,
    Redrawer,
    SurfaceRenderer,
    _stamp_discs,
    data_limits,
    fast_colors,
    pack_rgb,
    packed_colors,
    point_losses,
    unpack_rgb,
)


def decode(jpeg):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=float)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=4, max_size=4))
def test_fast_colors_match_surface_colors_for_two_classes(ps):
    p = np.array(ps).reshape(2, 2, 1)
    values = np.concatenate([1 - p, p], axis=-1)
    expected = surface_colors(values) * 255
    assert np.abs(fast_colors(values).astype(float) - expected).max() <= 2.0  # one step of the 256-entry table


def test_fast_colors_scalar_outputs_and_repeat():
    v = np.linspace(-2, 3, 12).reshape(3, 4, 1)
    np.testing.assert_allclose(fast_colors(v).astype(float), surface_colors(v) * 255, atol=2.0)
    big = fast_colors(v, repeat=3)
    assert big.shape == (9, 12, 3) and (big[::3, ::3] == fast_colors(v)).all()


def test_point_losses_average_to_the_training_loss(classifier, disc):
    net = NetInitialize(classifier, random_seed=0)
    spec = resolve_loss(net, data={"Output": disc[1]})
    arrays = read_data(net, spec, {"Input": disc[0], "Output": disc[1]})
    per_example = point_losses(net, spec, arrays)
    assert per_example.shape == (len(disc[0]),)
    p = net.apply(net.params, {"Input": disc[0]})["Output"]
    np.testing.assert_allclose(per_example, -np.log(p[np.arange(len(p)), disc[1]]), rtol=1e-9)


def test_packed_pixels_round_trip_and_enlarge():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3)).astype(np.uint8)
    assert (unpack_rgb(pack_rgb(rgb)) == rgb).all()
    v = np.random.default_rng(1).uniform(size=(4, 6, 1))
    values = np.concatenate([1 - v, v], axis=-1)
    assert (unpack_rgb(packed_colors(values, 3)) == fast_colors(values, 3)).all()
    three = np.random.default_rng(2).dirichlet([1, 1, 1], size=(3, 3))
    assert (unpack_rgb(packed_colors(three, 2)) == fast_colors(three, 2)).all()


def test_discs_are_drawn_with_a_rim_biggest_last():
    image = pack_rgb(np.full((20, 20, 3), 255, np.uint8))
    colors = pack_rgb(np.array([[200, 0, 0], [0, 0, 200]], np.uint8))
    _stamp_discs(image, np.array([10.0, 11.0]), np.array([10.0, 10.0]), np.array([2.0, 4.0]), colors)
    rgb = unpack_rgb(image)
    assert (rgb[10, 11] == [0, 0, 200]).all()  # the big blue disc covers the small red one
    assert (rgb[10, 15] == [40, 40, 40]).all()  # its rim
    assert (rgb[0, 0] == 255).all()
    with pytest.raises(ValueError, match="C-contiguous"):
        _stamp_discs(image[:, ::2], np.array([1.0]), np.array([1.0]), np.array([1.0]), colors[:1])


def test_surface_frame_shows_the_net_and_bigger_points_for_bigger_losses(classifier, disc):
    net = NetInitialize(classifier, random_seed=1)
    r = SurfaceRenderer(disc[0], disc[1], resolution=50, repeat=4)
    rgb = r.rgb(net)
    assert rgb.shape == (200, 200, 3)
    expected = fast_colors(decision_surface(net, r.xlim, r.ylim, 50).values[::-1], 4)
    far = np.ones((200, 200), bool)
    for x, y in zip(r._px, r._py):  # compare the surface away from the points
        far[max(0, int(y) - 12):int(y) + 13, max(0, int(x) - 12):int(x) + 13] = False
    assert far.any() and np.abs(rgb[far].astype(int) - expected[far].astype(int)).max() <= 1
    small = (r.rgb(net, np.zeros(len(disc[0]))) != expected).any(axis=-1).sum()
    large = (r.rgb(net, np.full(len(disc[0]), 4.0)) != expected).any(axis=-1).sum()
    assert large > small
    assert decode(r.render(net)).shape == (200, 200, 3)


def test_data_limits_are_square_and_hold_the_points():
    X = np.array([[0.0, 0.0], [2.0, 1.0]])
    (x0, x1), (y0, y1) = data_limits(X)
    assert x1 - x0 == pytest.approx(y1 - y0) and x0 < 0 and x1 > 2 and y0 < 0 and y1 > 1


def test_curves_blit_like_a_full_render():
    h = CurveHistory()
    for i in range(1, 40):
        h.add_round(i, 1 / i, {"Output": 1 / i}, {"Output": 1.0}, validation=1.5 / i)
    r = CurveRenderer(400, 250)
    r.rgb(h)
    h.add_round(40, 1 / 40, {"Output": 1 / 40}, {"Output": 1.0}, validation=1.5 / 40)
    blitted = r.rgb(h).astype(int)
    assert r.full_renders == 1 and r.frames == 2
    limits = (r.ax.get_xlim(), r.ax.get_ylim(), True)
    r._limits = lambda series: limits  # the same limits, everything drawn again
    r._background = None
    full = r.rgb(h).astype(int)
    assert r.full_renders == 2
    assert np.mean(np.abs(blitted - full) > 40) < 0.002


def test_curves_refit_for_new_series_marks_and_data_beyond_the_limits():
    h, r = CurveHistory(), CurveRenderer(400, 250)
    h.add_round(1, 1.0, {"a": 1.0}, {"a": 1.0})
    r.rgb(h)
    h.add_round(2, 0.9, {"a": 0.9}, {"a": 1.0})
    r.rgb(h)
    assert r.full_renders == 1
    h.add_mark(2.0, "a: Huber")
    r.rgb(h)
    assert r.full_renders == 2 and len(r._decorations) >= 3
    h.add_round(1000, 0.5, {"a": 0.5}, {"a": 1.0})
    r.rgb(h)
    assert r.full_renders == 3 and r.ax.get_xlim()[1] >= 1000
    h.add_round(1001, 0.5, {"a": 0.5, "b": 0.1}, {"a": 1.0, "b": 2.0})  # new terms: new lines
    r.rgb(h)
    assert {"a", "b", "b \u00d72"} <= set(r._lines)
    h.add_round(1002, -1.0, {"a": -1.0}, {"a": 1.0})
    r.rgb(h)
    assert r.ax.get_yscale() == "linear"  # a negative loss: no log axis


def test_redrawer_throttles_and_merges_requests():
    calls = []
    r = Redrawer(lambda: (calls.append(time.monotonic()), time.sleep(0.005)), max_fps=20)
    try:
        start = time.monotonic()
        while time.monotonic() - start < 0.5:
            r.request()
            time.sleep(0.001)
        time.sleep(0.1)
        assert 3 <= len(calls) <= 12  # ~20/s at most, never one per request
        gaps = np.diff(calls)
        assert gaps.min() >= 0.045
    finally:
        r.close()
    assert not r.alive


def test_maybe_draw_keeps_to_the_time_budget():
    r = Redrawer(lambda: time.sleep(0.02), max_fps=100, budget=0.25)
    try:
        drawn, start = 0, time.monotonic()
        while time.monotonic() - start < 0.6:
            drawn += r.maybe_draw()
        assert r.draw_seconds / 0.6 <= 0.25 + 0.1
        assert drawn >= 3
    finally:
        r.close()


def test_maybe_draw_reports_errors_and_goes_on():
    errors = []
    r = Redrawer(lambda: 1 / 0, on_error=errors.append)
    try:
        assert r.maybe_draw() is True
        assert isinstance(errors[0], ZeroDivisionError)
    finally:
        r.close()


def test_redrawer_flush_waits_for_a_frame_in_progress():
    order = []
    started = threading.Event()

    def draw():
        started.set()
        order.append("start")
        time.sleep(0.05)
        order.append("end")

    r = Redrawer(draw)
    try:
        r.request()
        started.wait(1)
        r.flush()
        assert order[:4] == ["start", "end", "start", "end"]
    finally:
        r.close()


def test_panel_frames_agree_with_nettrain(classifier, disc):
    """The points' losses after training are the trained net's per-example losses."""
    net = NetTrain(classifier, disc, random_seed=0, max_training_rounds=2, progress=None)
    spec = resolve_loss(net, data={"Output": disc[1]})
    arrays = read_data(net, spec, {"Input": disc[0], "Output": disc[1]})
    mean = NetTrain(classifier, disc, "RoundLoss", random_seed=0, max_training_rounds=2, progress=None)
    assert point_losses(net, spec, arrays).mean() == pytest.approx(mean, rel=0.5)


def test_thin_curve_keeps_the_envelope_and_the_newest_point():
    from lossviz.widgets.views import thin_curve

    x = np.arange(10_000, dtype=float)
    y = np.sin(x / 300) + (x == 4321) * 5.0  # one spike
    tx, ty = thin_curve(x, y, max_points=1000)
    assert len(tx) <= 1010 and tx[-1] == x[-1] and np.all(np.diff(tx) > 0)
    assert ty.max() == y.max() and ty.min() == y.min()  # the spike and the lowest point stay
    short_x, short_y = thin_curve(x[:500], y[:500], max_points=1000)
    np.testing.assert_array_equal(short_y, y[:500])


@pytest.mark.parametrize("losses", [np.geomspace(0.02, 2e-5, 40), np.linspace(-0.0125, 0.0375, 40)],
                         ids=["log axis, ticks down to 2e-05", "linear axis, ticks like -0.0125"])
def test_curves_keep_their_loss_label_inside_the_picture(losses):
    """Wide tick labels (0.0005, 5e-05) pushed the axis label out of compare's 360-pixel plots."""
    h, r = CurveHistory(), CurveRenderer(360, 230, ylabel="loss", xlabel="round")
    for i, loss in enumerate(losses, start=1):
        h.add_round(i, float(loss), {"Output": float(loss)}, {"Output": 1.0})
    r.rgb(h)
    renderer = r.canvas.get_renderer()
    assert r.ax.yaxis.label.get_window_extent(renderer).x0 >= 0
    assert r.ax.get_tightbbox(renderer).x0 >= 0
    r.rgb(h)  # the next frames blit onto the adjusted layout
    assert r.full_renders == 1


@pytest.mark.parametrize("lowest, subs", [(2e-5, {1.0}), (0.01, {1.0, 2.0, 5.0})])
def test_log_ticks_stay_apart_when_the_loss_falls_many_decades(lowest, subs):
    h, r = CurveHistory(), CurveRenderer(360, 230, ylabel="loss", xlabel="round")
    for i, loss in enumerate(np.geomspace(0.02, lowest, 40), start=1):
        h.add_round(i, float(loss), {"Output": float(loss)}, {"Output": 1.0})
    r.rgb(h)
    y0, y1 = r.ax.get_ylim()
    ticks = [t for t in r.ax.get_yticks() if y0 <= t <= y1]
    pixels = np.diff(sorted(r.ax.transData.transform([(0.0, t) for t in ticks])[:, 1]))
    assert len(ticks) >= 3 and pixels.min() >= 16
    mantissas = {round(t / 10 ** np.floor(np.log10(t)), 6) for t in ticks}
    assert mantissas == subs
